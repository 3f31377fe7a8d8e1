"""Minimum-image pair distances through a linear-scaling neighbour list (matscipy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from matscipy.neighbours import neighbour_list

#: matscipy bins space into cubes of the cutoff: a few atoms in a vast box would allocate
#: (L/cutoff)³ bins (two atoms 1000 Å apart at 0.5 Å: 13 s and 4 GB). Bins are bounded by
#: searching a larger radius where a frame is that sparse, and keeping pairs under the cutoff.
BINS_PER_ATOM = 8
MIN_BINS = 4096


def _search_radius_A(volume_A3: float, atoms: int, cutoff_A: float) -> float:
    return max(cutoff_A, (volume_A3 / max(BINS_PER_ATOM * atoms, MIN_BINS)) ** (1 / 3))


@dataclass(frozen=True)
class Pairs:
    """Unique atom pairs ``i < j`` closer than a cutoff, with their distances in Å."""

    i: np.ndarray
    j: np.ndarray
    distance_A: np.ndarray

    def __len__(self) -> int:
        return len(self.i)


def pairs_within(atoms: Atoms, cutoff_A: float) -> Pairs:
    """Every pair closer than ``cutoff_A`` under the minimum image, each once.

    Cost is linear in the number of atoms (cell lists), memory bounded however sparse the
    frame; works for periodic and open cells.
    """
    if not np.isfinite(atoms.positions).all():
        raise ValueError("positions contain NaN or infinity")
    if atoms.pbc.any() and atoms.cell.rank < 3:
        raise ValueError("a periodic structure needs a full 3D cell")
    if not atoms.pbc.any():
        # matscipy needs a cell even for open systems: a box that encloses everything
        span = np.ptp(atoms.positions, axis=0) + 2 * cutoff_A + 1.0
        radius = _search_radius_A(float(np.prod(span)), len(atoms), cutoff_A)
        shifted = atoms.positions - atoms.positions.min(axis=0) + radius
        i, j, d = neighbour_list(
            "ijd",
            positions=shifted,
            cell=np.diag(span + 2 * (radius - cutoff_A)),
            pbc=[False] * 3,
            numbers=atoms.numbers.astype(np.int32),
            cutoff=radius,
        )
    else:
        radius = _search_radius_A(abs(atoms.cell.volume), len(atoms), cutoff_A)
        i, j, d = neighbour_list("ijd", atoms, radius)
    keep = (i < j) & (d < cutoff_A)
    return Pairs(i[keep], j[keep], d[keep])
