"""Minimum-image pair distances through a linear-scaling neighbour list (matscipy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from matscipy.neighbours import neighbour_list


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

    Cost is linear in the number of atoms (cell lists); works for periodic and open cells.
    """
    if not np.isfinite(atoms.positions).all():
        raise ValueError("positions contain NaN or infinity")
    if atoms.pbc.any() and atoms.cell.rank < 3:
        raise ValueError("a periodic structure needs a full 3D cell")
    if not atoms.pbc.any():
        # matscipy needs a cell even for open systems: a box that encloses everything
        span = np.ptp(atoms.positions, axis=0) + 2 * cutoff_A + 1.0
        shifted = atoms.positions - atoms.positions.min(axis=0) + cutoff_A
        i, j, d = neighbour_list(
            "ijd",
            positions=shifted,
            cell=np.diag(span),
            pbc=[False] * 3,
            numbers=atoms.numbers.astype(np.int32),
            cutoff=cutoff_A,
        )
    else:
        i, j, d = neighbour_list("ijd", atoms, cutoff_A)
    keep = i < j
    return Pairs(i[keep], j[keep], d[keep])
