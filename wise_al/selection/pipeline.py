"""Step 4 and the whole pipeline: window ∪ urgent -> dedupe -> diversity -> budget.

Strategies are a registry (name -> function), like the physics flags: the spec's
``selection.strategy`` names one. Every strategy sees the same candidates, whichever MD
saved them (walkers, the previous committee's validation MD), under the same budget.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wise_al.selection.base import Candidate, Decision, priority
from wise_al.selection.baselines import baseline_decisions
from wise_al.selection.dedupe import remove_near_duplicates
from wise_al.selection.diversity import farthest_point_order
from wise_al.selection.window import window_or_flagged
from wise_al.spec.exploration import SelectionSpec, UncertaintySpec

#: A selection strategy: candidates, the spec's selection and trust window (None: no
#: committee judged the frames) and the budget -> one decision per candidate.
Strategy = Callable[[list[Candidate], SelectionSpec, UncertaintySpec | None, int], list[Decision]]


def _origin(candidate: Candidate) -> str:
    return "" if candidate.source == "walker" else f" ({candidate.source} MD)"


def audit_decisions(
    candidates: list[Candidate], selection: SelectionSpec, window: UncertaintySpec, budget: int
) -> list[Decision]:
    """Up to ``selection.audit_frames`` (and the budget) random picks among the frames the
    window would throw away (accurate or failed, no flag): the committee's verdicts put to
    the test, so calibration sees every class."""
    lo, hi = window.trust_lo_eV_per_A, window.trust_hi_eV_per_A
    pool = sorted(
        (c for c in candidates if not c.urgent and not lo <= c.max_deviation_eV_per_A < hi),
        key=lambda c: c.index,
    )
    count = min(selection.audit_frames, len(pool), budget)
    if not count:
        return []
    draw = np.random.default_rng(selection.seed).choice(len(pool), count, replace=False)
    decisions = []
    for rank, k in enumerate(sorted(draw)):
        c = pool[k]
        called = "accurate" if c.max_deviation_eV_per_A < lo else "failed"
        decisions.append(
            Decision(
                c.index,
                True,
                f"audit #{rank + 1}: the committee called it {called} "
                f"(max deviation {c.max_deviation_eV_per_A:.3f} eV/Å){_origin(c)}",
            )
        )
    return decisions


def committee_decisions(
    candidates: list[Candidate],
    selection: SelectionSpec,
    window: UncertaintySpec | None,
    budget: int,
) -> list[Decision]:
    """Active learning: the trust window or physics, then no duplicates, then diversity;
    a few random audits of the frames the window throws away, within the budget."""
    audits = [] if window is None else audit_decisions(candidates, selection, window, budget)
    audited = {d.index for d in audits}
    candidates = [c for c in candidates if c.index not in audited]
    budget -= len(audits)
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
        why = (candidate.why() or how) + _origin(candidate)
        if rank < budget:
            decisions.append(Decision(candidate.index, True, f"{why} #{rank + 1}"))
        else:
            decisions.append(Decision(candidate.index, False, f"over the budget of {budget}"))
    return decisions + audits


#: Every selection strategy by the name the spec gives it. ``random`` and ``uniform`` are
#: the baselines: they skip the window, flags, duplicates and diversity.
STRATEGIES: dict[str, Strategy] = {
    "committee": committee_decisions,
    "random": lambda c, selection, _, budget: baseline_decisions(
        c, "random", budget, selection.seed
    ),
    "uniform": lambda c, selection, _, budget: baseline_decisions(
        c, "uniform", budget, selection.seed
    ),
}


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
    Deterministic for a given ``selection.seed``.
    """
    per_iteration = selection.budget_per_iteration
    budget = per_iteration if budget is None else min(per_iteration, budget)
    decisions = STRATEGIES[selection.strategy](candidates, selection, window, budget)
    return sorted(decisions, key=lambda d: d.index)
