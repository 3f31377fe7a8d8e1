"""Which pool frames each arm labels next. Every arm holds the same random labels at the
first budget (per seed) and grows by the same number of labels per step.

- ``committee``: the loop's selection (:func:`wise_al.selection.select_frames`) on a
  committee fine-tuned on the arm's labels: σ (max atomic force deviation) rescaled by the
  slope of the calibration on the previous step's new labels, the demo's trust window in
  error units, flagged frames and a break's onset frames first, duplicates removed,
  diverse picks, ``audit_frames`` random audits of the frames the window throws away.
- ``flags``: the same pipeline with every frame called accurate: flagged and onset
  frames only (diverse picks among them); what is left of the step is drawn at random.
- ``random``: a seeded permutation of the pool, taken in order.
- ``uniform``: frames evenly spaced in MD time among those not yet held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms

from benchmarks.label_efficiency.pool import NO_FLAGS
from wise_al.calibration import calibrate
from wise_al.campaign_spec.exploration import SelectionSpec, UncertaintySpec
from wise_al.jobs.calibrate import SCALE_LIMITS
from wise_al.mace.committee import Committee
from wise_al.selection import Candidate, select_frames
from wise_al.uncertainty import frame_deviation

ARMS = ("committee", "flags", "random", "uniform")
#: The demo's window (examples/demo.yaml), in units of error once σ is rescaled.
WINDOW = UncertaintySpec(trust_lo_eV_per_A=0.4, trust_hi_eV_per_A=3.0)
#: Frames per committee pass when judging the pool.
CHUNK_FRAMES = 32
#: A window nothing reaches: every unflagged frame counts as accurate.
FLAGS_ONLY = UncertaintySpec(trust_lo_eV_per_A=50.0, trust_hi_eV_per_A=100.0)


def _candidate(pool: list[Atoms], k: int, score: float, descriptor: np.ndarray) -> Candidate:
    info = pool[k].info
    onset = int(info.get("onset_of_step", -1))
    return Candidate(
        index=k,
        max_deviation_eV_per_A=score,
        flags=tuple(f for f in str(info.get("flags", NO_FLAGS)).split(",") if f != NO_FLAGS),
        descriptor=descriptor,
        time=(int(info["walker"]), int(info["md_step"])),
        onset_of_step=None if onset < 0 else onset,
    )


def first_labels(pool_size: int, budget: int, seed: int) -> list[int]:
    """The random labels every arm starts from."""
    return [int(k) for k in np.random.default_rng(seed).permutation(pool_size)[:budget]]


def _fill_randomly(chosen: list[int], rest: Sequence[int], count: int, seed: int) -> list[int]:
    taken = set(chosen)
    left = [k for k in rest if k not in taken]
    extra = np.random.default_rng(seed).permutation(len(left))[: count - len(chosen)]
    return chosen + [left[j] for j in sorted(extra)]


@dataclass
class CommitteeState:
    """What the committee arm carries between steps: the last committee's forces on the
    frames it then chose (they are labelled next step: its calibration), and the records."""

    member_forces: dict[int, np.ndarray] = field(default_factory=dict)
    calibrations: list[dict[str, Any]] = field(default_factory=list)

    def scale(self, pool: list[Atoms], labelled: Sequence[int]) -> float:
        """The calibration slope on the frames just labelled (1 before any)."""
        judged = [k for k in labelled if k in self.member_forces]
        if len(judged) < 2:
            return 1.0
        found = calibrate(
            [self.member_forces[k] for k in judged],
            [pool[k].arrays["REF_forces"] for k in judged],
            WINDOW.trust_lo_eV_per_A,
            WINDOW.trust_hi_eV_per_A,
        )
        slope = 1.0 if found.slope is None else float(np.clip(found.slope, *SCALE_LIMITS))
        self.calibrations.append(
            {
                "frames": len(judged),
                "slope": found.slope,
                "rank_correlation": found.rank_correlation,
                "scale": slope,
            }
        )
        return slope


def next_labels(
    arm: str,
    pool: list[Atoms],
    held: list[int],
    count: int,
    seed: int,
    step: int,
    committee: Committee | None = None,
    state: CommitteeState | None = None,
    audit_frames: int = 1,
) -> list[int]:
    """``count`` pool indices the arm labels next (never one it holds). ``committee`` is
    the arm's current model(s): the committee arm's K members, the flags arm's one."""
    holding = set(held)
    rest = [k for k in range(len(pool)) if k not in holding]
    draw_seed = seed * 1000 + step
    if arm == "random":
        order = np.random.default_rng(seed).permutation(len(pool))
        return [int(k) for k in order if int(k) not in holding][:count]
    if arm == "uniform":
        candidates = [_candidate(pool, k, 0.0, np.zeros(1)) for k in rest]
        spec = SelectionSpec(strategy="uniform", budget_per_iteration=count, seed=draw_seed)
        return [d.index for d in select_frames(candidates, spec, None) if d.selected]
    assert committee is not None, f"the {arm} arm needs the arm's model"
    frames = [pool[k] for k in rest]
    # in chunks: one graph of the whole pool times K members does not fit in memory
    chunks = [frames[k : k + CHUNK_FRAMES] for k in range(0, len(frames), CHUNK_FRAMES)]
    descriptors = np.concatenate([committee.descriptors(chunk) for chunk in chunks])
    if arm == "flags":  # the arm's own model gives the descriptors for diversity
        candidates = [_candidate(pool, k, 0.0, descriptors[j]) for j, k in enumerate(rest)]
        spec = SelectionSpec(budget_per_iteration=count, audit_frames=0, seed=draw_seed)
        chosen = [d.index for d in select_frames(candidates, spec, FLAGS_ONLY) if d.selected]
        return _fill_randomly(chosen, rest, count, draw_seed)
    assert arm == "committee" and state is not None
    predictions = [committee.predict(chunk) for chunk in chunks]
    energies = np.concatenate([p.energies_eV for p in predictions], axis=1)
    forces = [f for p in predictions for f in p.forces_eV_per_A]
    scale = state.scale(pool, held)
    candidates = []
    for j, k in enumerate(rest):
        sigma = frame_deviation(energies[:, j], forces[j])
        candidates.append(_candidate(pool, k, sigma.max_eV_per_A * scale, descriptors[j]))
    spec = SelectionSpec(budget_per_iteration=count, audit_frames=audit_frames, seed=draw_seed)
    chosen = [d.index for d in select_frames(candidates, spec, WINDOW) if d.selected]
    chosen = _fill_randomly(chosen, rest, count, draw_seed)
    position = {k: j for j, k in enumerate(rest)}
    state.member_forces = {k: forces[position[k]] for k in chosen}
    return chosen
