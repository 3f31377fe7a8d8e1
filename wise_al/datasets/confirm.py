"""Confirm a declared level of theory: re-label a few frames with CP2K and compare.

A dataset that claims "GFN1-xTB in CP2K 2023.1" but was computed with other settings (or
units) gives labels no CP2K label of a campaign agrees with; a few single points at the
declared level show it before any model trains on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from ase import Atoms

from wise_al.campaign_spec.dataset import ConfirmationRecord
from wise_al.datasets.rejected import DatasetRejected

#: Per-atom energy and per-component force agreement asked of a confirmed frame. Same code,
#: same settings: the numbers agree to the SCF tolerance, far inside these.
ENERGY_TOLERANCE_MEV_PER_ATOM = 1.0
FORCE_TOLERANCE_EV_PER_A = 0.05

#: (energy_eV, forces_eV_per_A) of one frame at the declared level, or a reason it failed.
Relabel = Callable[[Atoms], tuple[float, np.ndarray] | str]


def spread(n_frames: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``n_frames`` (first and last included)."""
    if count <= 0 or n_frames == 0:
        return []
    if count >= n_frames:
        return list(range(n_frames))
    return sorted({int(x) for x in np.rint(np.linspace(0, n_frames - 1, count))})


def confirm_level(
    frames: Sequence[Atoms],
    relabel: Relabel,
    count: int,
    energy_tolerance_meV_per_atom: float = ENERGY_TOLERANCE_MEV_PER_ATOM,
    force_tolerance_eV_per_A: float = FORCE_TOLERANCE_EV_PER_A,
    on_frame: Callable[[int], None] | None = None,
) -> ConfirmationRecord:
    """Re-label ``count`` frames and compare them with their uploaded labels.

    Raises
    ------
    DatasetRejected
        Naming the first frame (and ``REF_energy`` or ``REF_forces``) that disagrees beyond
        the tolerance, or that CP2K could not label.
    """
    picked = spread(len(frames), count)
    energy_diffs, force_diffs = [], []
    for k in picked:
        atoms = frames[k]
        result = relabel(atoms)
        if isinstance(result, str):
            raise DatasetRejected(k, "REF_energy", f"CP2K could not re-label it: {result}")
        energy_eV, forces = result
        d_energy = 1000 * abs(energy_eV - float(atoms.info["REF_energy"])) / len(atoms)
        d_force = float(np.abs(np.asarray(forces) - atoms.arrays["REF_forces"]).max())
        if d_energy > energy_tolerance_meV_per_atom:
            raise DatasetRejected(
                k,
                "REF_energy",
                f"differs from CP2K at the declared level by {d_energy:.3g} meV/atom "
                f"(tolerance {energy_tolerance_meV_per_atom:g}): another level of theory",
            )
        if d_force > force_tolerance_eV_per_A:
            raise DatasetRejected(
                k,
                "REF_forces",
                f"differs from CP2K at the declared level by up to {d_force:.3g} eV/Å "
                f"(tolerance {force_tolerance_eV_per_A:g}): another level of theory",
            )
        energy_diffs.append(d_energy)
        force_diffs.append(d_force)
        if on_frame is not None:
            on_frame(k)
    return ConfirmationRecord(
        frames=picked,
        energy_diff_meV_per_atom=energy_diffs,
        force_max_diff_eV_per_A=force_diffs,
        energy_tolerance_meV_per_atom=energy_tolerance_meV_per_atom,
        force_tolerance_eV_per_A=force_tolerance_eV_per_A,
    )
