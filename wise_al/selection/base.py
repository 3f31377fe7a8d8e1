"""What selection works on and what it decides."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidate:
    """An explored frame as selection sees it.

    Attributes
    ----------
    index
        Position of the frame in the explored set (any stable id).
    max_deviation_eV_per_A
        Committee score of the frame.
    flags
        Kinds of physics flags the frame raised (empty: none).
    descriptor
        Frame descriptor (mean invariant MACE features), for duplicates and diversity.
    time
        Where the frame sits in MD time: (walker, step); uniform-in-time selection orders by it.
    """

    index: int
    max_deviation_eV_per_A: float
    flags: tuple[str, ...]
    descriptor: np.ndarray
    time: tuple[int, int] = (0, 0)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


@dataclass(frozen=True)
class Decision:
    """Selected or not, and why (every rejected frame keeps its reason)."""

    index: int
    selected: bool
    reason: str


def priority(candidate: Candidate) -> tuple[bool, float, int]:
    """Sort key, most valuable first: flagged, then higher deviation, then lower index."""
    return (not candidate.flagged, -candidate.max_deviation_eV_per_A, candidate.index)
