"""Committee metrics, defined here and nowhere else.

Inputs are the members' raw predictions stacked along the first axis (never mace's own
variance outputs, which scale oddly). For atom i and members k = 1..K:

    σ_i = sqrt( mean_k || F_ik - mean_k F_ik ||² )

A frame's score is ``max_i σ_i`` (DP-GEN's ``max_devi_f``); the mean over atoms and the
standard deviation of the energy per atom are reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray


class FrameClass(StrEnum):
    """Where a frame falls against the trust window."""

    ACCURATE = "accurate"  # max σ < trust_lo: the committee agrees, nothing to learn
    CANDIDATE = "candidate"  # trust_lo <= max σ < trust_hi: worth a label
    FAILED = "failed"  # max σ >= trust_hi: likely unphysical, the model is lost


@dataclass(frozen=True)
class Deviation:
    """Committee disagreement on one frame.

    Attributes
    ----------
    atom_eV_per_A
        Per-atom force deviation σ_i, shape (n_atoms,).
    max_eV_per_A, mean_eV_per_A
        Max and mean of σ_i over atoms.
    energy_std_eV_per_atom
        Standard deviation of the members' energies, divided by the number of atoms.
    member_energies_eV
        Each member's total energy (empty for a single model).
    """

    atom_eV_per_A: NDArray[np.float64]
    max_eV_per_A: float
    mean_eV_per_A: float
    energy_std_eV_per_atom: float
    member_energies_eV: tuple[float, ...] = ()

    @classmethod
    def unjudged(cls, n_atoms: int) -> Deviation:
        """A single model's frame: nobody disagrees (callers must not read it as accurate)."""
        return cls(np.zeros(n_atoms), 0.0, 0.0, 0.0)


def atom_force_deviation(forces_eV_per_A: ArrayLike) -> NDArray[np.float64]:
    """σ_i from member forces of shape (members, atoms, 3) or (members, frames, atoms, 3)."""
    forces = np.asarray(forces_eV_per_A, dtype=np.float64)
    if forces.shape[0] < 2:
        raise ValueError(f"a committee needs at least 2 members, got {forces.shape[0]}")
    spread = forces - forces.mean(axis=0, keepdims=True)
    result: NDArray[np.float64] = np.sqrt((spread**2).sum(axis=-1).mean(axis=0))
    return result


def frame_deviation(energies_eV: ArrayLike, forces_eV_per_A: ArrayLike) -> Deviation:
    """Committee metrics of one frame.

    Parameters
    ----------
    energies_eV
        Member energies, shape (members,).
    forces_eV_per_A
        Member forces, shape (members, atoms, 3).
    """
    energies = np.asarray(energies_eV, dtype=np.float64)
    sigma = atom_force_deviation(forces_eV_per_A)
    n_atoms = sigma.shape[-1]
    return Deviation(
        atom_eV_per_A=sigma,
        max_eV_per_A=float(sigma.max()),
        mean_eV_per_A=float(sigma.mean()),
        energy_std_eV_per_atom=float(energies.std() / n_atoms),
        member_energies_eV=tuple(float(e) for e in energies),
    )


def classify_deviation(
    max_deviation_eV_per_A: float, trust_lo_eV_per_A: float, trust_hi_eV_per_A: float
) -> FrameClass:
    """Accurate below ``trust_lo``, candidate in ``[trust_lo, trust_hi)``, failed above."""
    if not np.isfinite(max_deviation_eV_per_A):
        return FrameClass.FAILED
    if max_deviation_eV_per_A < trust_lo_eV_per_A:
        return FrameClass.ACCURATE
    if max_deviation_eV_per_A < trust_hi_eV_per_A:
        return FrameClass.CANDIDATE
    return FrameClass.FAILED


#: Bin edges (eV/Å) of deviation histograms: log-spaced, 10 bins per decade from 1 meV/Å to
#: 100 eV/Å, so trust windows of any width fall on readable bins. Values outside are clipped
#: into the first or last bin.
DEVIATION_BIN_EDGES_EV_PER_A: tuple[float, ...] = tuple(float(x) for x in np.logspace(-3, 2, 51))


def deviation_histogram(max_deviations_eV_per_A: ArrayLike) -> list[int]:
    """Counts of frames per bin of :data:`DEVIATION_BIN_EDGES_EV_PER_A` (max σ per frame)."""
    edges = np.asarray(DEVIATION_BIN_EDGES_EV_PER_A)
    values = np.clip(np.asarray(max_deviations_eV_per_A, dtype=np.float64), edges[0], edges[-1])
    counts, _ = np.histogram(values, bins=edges)
    return [int(c) for c in counts]
