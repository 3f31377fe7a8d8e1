"""Does active learning save labels? A paired benchmark of selection arms.

    .venv/bin/python -m benchmarks.label_efficiency --help

The stages, each cached under ``--work`` so a run resumes where it stopped:

1. **Truth** (:mod:`.truth`): CP2K's own GFN1-xTB MD at several temperatures, and a
   Li⁺–Li⁺ distance scan (two Li⁺ pulled together in a solvated cell, held, the rest
   relaxed by CP2K, labelled at the same level). The **contact set** (scan frames with
   Li–Li under 2.6 Å) and the **random set** (reference-MD frames) are never in a pool.
2. **A failing start** (:mod:`.pool`, ``--start``): the starting potential must break the
   survival MD; that is checked and recorded before any arm runs, with whether it fused
   Li⁺ and its Li⁺–Li⁺ push on the scan frames against the labels'.
3. **Pool** (:mod:`.pool`): walkers driven by the failing model, run as the loop runs
   them (stopped at a break), every frame labelled once with CP2K.
4. **Arms** (:mod:`.arms`): committee (K members, window on calibrated σ, flags and onset
   frames, audits), flags only, random and uniform in MD time; all start from the same
   random labels per seed and grow in the same steps, each from the same pool.
5. **Endpoints** (:mod:`.endpoints`, :mod:`.stats`): per arm, seed and budget, the force
   error on the contact and random sets; the labels until the survival MD (several 1 ps
   runs from fixed starts) holds no Li⁺ pair under 2.2 Å (Kaplan–Meier, log-rank); paired
   differences against random with confidence intervals and Wilcoxon tests.
"""
