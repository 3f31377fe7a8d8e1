"""Labels that must not be trained on: forces no physical frame has, energies off the rest.

Both come from overlapping atoms or a broken SCF that still "converged": a single such label
can dominate a loss that squares its error. They are left out of training with the reason,
never silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

#: Below this many frames a robust spread of energies means nothing: no energy rule.
MIN_FRAMES_FOR_ENERGY_RULE = 5
#: A per-atom energy residual is an outlier only beyond this too (eV/atom): with a very
#: consistent set the MAD is tiny and ordinary frames would be flagged.
ENERGY_FLOOR_EV_PER_ATOM = 0.05
MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution times this is its sigma


def composition_groups(frames: Sequence[Atoms]) -> list[list[int]]:
    """Indices of frames that share a composition (only those compare by energy per atom)."""
    groups: dict[str, list[int]] = {}
    for k, atoms in enumerate(frames):
        groups.setdefault(atoms.get_chemical_formula(mode="hill"), []).append(k)
    return list(groups.values())


def label_outliers(
    frames: Sequence[Atoms], max_force_eV_per_A: float | None, energy_mads: float | None
) -> dict[int, str]:
    """Index -> reason for every frame whose label must stay out of training.

    Parameters
    ----------
    frames
        Labelled frames (``REF_energy``, ``REF_forces``).
    max_force_eV_per_A
        Any force component's norm above this excludes the frame (None: no cap).
    energy_mads
        An energy per atom further from the median of the frames of the same composition
        than this many robust standard deviations (1.4826 MAD) excludes the frame (None: no
        rule). Medians, not means: one outlier cannot drag the centre it is judged against.
    """
    reasons: dict[int, str] = {}
    if max_force_eV_per_A is not None:
        for k, atoms in enumerate(frames):
            norms = np.linalg.norm(np.asarray(atoms.arrays["REF_forces"]), axis=1)
            if norms.max() > max_force_eV_per_A:
                reasons[k] = (
                    f"force {norms.max():.1f} eV/Å on atom {int(norms.argmax())} exceeds "
                    f"{max_force_eV_per_A:g} eV/Å (overlapping atoms?)"
                )
    groups = composition_groups(frames) if energy_mads is not None else []
    for group in (g for g in groups if len(g) >= MIN_FRAMES_FOR_ENERGY_RULE):
        assert energy_mads is not None
        per_atom = np.array([float(frames[k].info["REF_energy"]) / len(frames[k]) for k in group])
        centre = float(np.median(per_atom))
        sigma = MAD_TO_SIGMA * float(np.median(np.abs(per_atom - centre)))
        limit = max(energy_mads * sigma, ENERGY_FLOOR_EV_PER_ATOM)
        for k, energy in zip(group, per_atom, strict=True):
            if abs(energy - centre) > limit and k not in reasons:
                reasons[k] = (
                    f"energy {energy - centre:+.3f} eV/atom from the median of the other "
                    f"{frames[k].get_chemical_formula()} labels (limit {limit:.3f} eV/atom, "
                    f"{energy_mads:g} robust sigma)"
                )
    return reasons
