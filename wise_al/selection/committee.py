"""The ``committee`` strategy, active learning: the trust window or physics, then no
duplicates, then diversity; a few random audits of what the window throws away."""

from __future__ import annotations

import numpy as np

from wise_al.selection.base import (
    Candidate,
    Decision,
    SelectionSettings,
    SelectionStrategy,
    TrustWindow,
    priority,
)
from wise_al.selection.dedupe import remove_near_duplicates
from wise_al.selection.diversity import farthest_point_order
from wise_al.selection.window import window_or_flagged


def _origin(candidate: Candidate) -> str:
    return "" if candidate.source == "walker" else f" ({candidate.source} MD)"


def audit_decisions(
    candidates: list[Candidate], selection: SelectionSettings, window: TrustWindow, budget: int
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
    selection: SelectionSettings,
    window: TrustWindow | None,
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


COMMITTEE = SelectionStrategy(
    "committee",
    committee_decisions,
    judged=True,
    description="active learning: the trust window and physics flags, then de-duplication "
    "and diversity",
)
