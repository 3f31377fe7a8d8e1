"""The whole selection: the strategy the spec names decides, under the budget.

Strategies are a registry (:mod:`wise_al.selection.registry`), like the physics flags:
``selection.strategy`` names one. Every strategy sees the same candidates, whichever MD
saved them (walkers, the previous committee's validation MD), under the same budget.
"""

from __future__ import annotations

from wise_al.selection.base import Candidate, Decision, SelectionSettings, TrustWindow
from wise_al.selection.registry import STRATEGIES


def select_frames(
    candidates: list[Candidate],
    selection: SelectionSettings,
    window: TrustWindow | None,
    budget: int | None = None,
) -> list[Decision]:
    """One decision per candidate (sorted by index); at most the budget are selected.

    ``window`` None means no committee judged the frames (a single foundation model):
    every frame passes on to de-duplication and diversity. ``budget`` caps
    ``selection.budget_per_iteration`` (what is left of a campaign's label budget).
    Deterministic for a given ``selection.seed``.
    """
    per_iteration = selection.budget_per_iteration
    budget = per_iteration if budget is None else min(per_iteration, budget)
    decisions = STRATEGIES[selection.strategy].decide(candidates, selection, window, budget)
    return sorted(decisions, key=lambda d: d.index)
