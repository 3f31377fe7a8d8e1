"""Step 4 and the whole pipeline: window ∪ flagged -> dedupe -> diversity -> budget."""

from __future__ import annotations

from wise_al.selection.base import Candidate, Decision, priority
from wise_al.selection.baselines import baseline_decisions
from wise_al.selection.dedupe import remove_near_duplicates
from wise_al.selection.diversity import farthest_point_order
from wise_al.selection.window import window_or_flagged
from wise_al.spec.exploration import SelectionSpec, UncertaintySpec


def select_frames(
    candidates: list[Candidate],
    selection: SelectionSpec,
    window: UncertaintySpec | None,
    budget: int | None = None,
) -> list[Decision]:
    """One decision per candidate (sorted by index); at most the budget are selected.

    ``window`` None means no committee judged the frames (a single foundation model):
    every frame passes on to de-duplication and diversity. ``budget`` caps
    ``selection.budget_per_iteration`` (what is left of a campaign's label budget).
    Deterministic for a given ``selection.seed``. The ``random`` and ``uniform`` strategies
    skip the window, flags, duplicates and diversity: they are the baselines.
    """
    per_iteration = selection.budget_per_iteration
    budget = per_iteration if budget is None else min(per_iteration, budget)
    if selection.strategy != "committee":
        decisions = baseline_decisions(candidates, selection.strategy, budget, selection.seed)
        return sorted(decisions, key=lambda d: d.index)
    if window is None:
        kept, decisions = list(candidates), list[Decision]()
    else:
        kept, decisions = window_or_flagged(
            candidates, window.trust_lo_eV_per_A, window.trust_hi_eV_per_A
        )
    kept, duplicates = remove_near_duplicates(kept, selection.near_duplicate_distance)
    decisions += duplicates
    if selection.diversity:
        ordered = farthest_point_order(kept, selection.seed)
        how = "diverse pick"
    else:
        ordered = sorted(kept, key=priority)
        how = "highest deviation"
    for rank, candidate in enumerate(ordered):
        why = "flagged: " + ", ".join(candidate.flags) if candidate.flagged else how
        if rank < budget:
            decisions.append(Decision(candidate.index, True, f"{why} #{rank + 1}"))
        else:
            decisions.append(Decision(candidate.index, False, f"over the budget of {budget}"))
    return sorted(decisions, key=lambda d: d.index)
