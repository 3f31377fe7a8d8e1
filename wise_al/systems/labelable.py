"""Whether a frame can be labelled at all: what every labeller refuses before running."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from wise_al.systems.neighbours import pairs_within

#: Closer than this no label means anything (pseudopotential cores overlap): refused unrun.
MIN_LABEL_DISTANCE_A = 0.5


def structure_problem(atoms: Atoms) -> str | None:
    """Why a frame cannot be labelled at all (None when it can)."""
    if not np.isfinite(atoms.positions).all():
        return "positions are not finite (NaN or infinity)"
    if atoms.cell.rank < 3:
        return "no 3D cell (put a box around a cluster)"
    if len(atoms) > 1:
        close = pairs_within(atoms, MIN_LABEL_DISTANCE_A)
        if len(close):
            i, j = int(close.i[0]), int(close.j[0])
            return (
                f"atoms {i} and {j} are {float(close.distance_A[0]):.3f} Å apart "
                f"(under {MIN_LABEL_DISTANCE_A} Å)"
            )
    return None
