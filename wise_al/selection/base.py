"""What selection works on and what it decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

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
    source
        The MD that saved it: ``walker`` or ``validation`` (or ``seed``).
    onset_of_step
        The step its trajectory broke at, when the frame leads into that break (the onset
        of a failure: worth labelling whatever the committee says); None otherwise.
    """

    index: int
    max_deviation_eV_per_A: float
    flags: tuple[str, ...]
    descriptor: np.ndarray
    time: tuple[int, int] = (0, 0)
    source: str = "walker"
    onset_of_step: int | None = None

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    @property
    def urgent(self) -> bool:
        """Flagged, or leading into a break: physics says the model is wrong here."""
        return self.flagged or self.onset_of_step is not None

    def why(self) -> str:
        """What makes the frame urgent, with where it comes from (empty if it is not)."""
        parts = []
        if self.onset_of_step is not None:
            parts.append(f"onset of the {self.source} break at step {self.onset_of_step}")
        if self.flagged:
            parts.append("flagged: " + ", ".join(self.flags))
        return "; ".join(parts)


@dataclass(frozen=True)
class Decision:
    """Selected or not, and why (every rejected frame keeps its reason)."""

    index: int
    selected: bool
    reason: str


def priority(candidate: Candidate) -> tuple[bool, float, int]:
    """Sort key, most valuable first: urgent (flagged or a break's onset), then higher
    deviation, then lower index."""
    return (not candidate.urgent, -candidate.max_deviation_eV_per_A, candidate.index)


class SelectionSettings(Protocol):
    """What a strategy reads of a campaign's ``selection`` section."""

    @property
    def strategy(self) -> str: ...
    @property
    def budget_per_iteration(self) -> int: ...
    @property
    def diversity(self) -> bool: ...
    @property
    def near_duplicate_distance(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def audit_frames(self) -> int: ...


class TrustWindow(Protocol):
    """The committee's trust window (σ in eV/Å): candidates lie between its edges."""

    @property
    def trust_lo_eV_per_A(self) -> float: ...
    @property
    def trust_hi_eV_per_A(self) -> float: ...


#: A strategy's decision: candidates, the selection settings, the trust window (None: no
#: committee judged the frames) and the budget -> one decision per candidate.
Decide = Callable[[list[Candidate], SelectionSettings, TrustWindow | None, int], list[Decision]]


@dataclass(frozen=True)
class SelectionStrategy:
    """One way of choosing frames to label, declared in its own module and gathered in
    :mod:`wise_al.selection.registry`.

    Attributes
    ----------
    name
        What ``selection.strategy`` calls it.
    decide
        Its decisions (at most the budget selected).
    judged
        Whether it reads the committee's judgement (window, flags, onset); a strategy that
        does not draws from every saved frame, so exploration must store them all.
    description
        One line for the spec's documentation.
    """

    name: str
    decide: Decide
    judged: bool
    description: str


def ranked_decisions(ordered: list[Candidate], how: str, name: str, budget: int) -> list[Decision]:
    """The first ``budget`` of ``ordered`` selected (``how #rank``), the rest not."""
    return [
        Decision(c.index, True, f"{how} #{rank + 1}")
        if rank < budget
        else Decision(c.index, False, f"not picked by the {name} baseline (budget {budget})")
        for rank, c in enumerate(ordered)
    ]
