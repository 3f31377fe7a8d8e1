"""The ``uniform`` baseline: frames evenly spaced in MD time (walker by walker, in order),
the way a user subsamples an AIMD trajectory; blind to the committee and the flags."""

from __future__ import annotations

import numpy as np

from wise_al.selection.base import (
    Candidate,
    Decision,
    SelectionSettings,
    SelectionStrategy,
    TrustWindow,
    ranked_decisions,
)


def uniform_order(candidates: list[Candidate], budget: int) -> list[Candidate]:
    """``budget`` candidates evenly spaced in MD time first, then the rest in time order."""
    in_time = sorted(candidates, key=lambda c: (c.time, c.index))
    if not in_time or budget <= 0:
        return in_time
    n = min(budget, len(in_time))
    # the centres of n equal slices of the trajectory: no bias to its start or end
    picks = sorted({int(k) for k in (np.arange(n) + 0.5) * len(in_time) / n})
    chosen = [in_time[k] for k in picks]
    taken = {c.index for c in chosen}
    return chosen + [c for c in in_time if c.index not in taken]


def uniform_decisions(
    candidates: list[Candidate],
    selection: SelectionSettings,
    window: TrustWindow | None,
    budget: int,
) -> list[Decision]:
    """``budget`` candidates evenly spaced in MD time."""
    del selection, window  # a baseline does not look at the committee; no draw to seed
    ordered = uniform_order(candidates, budget)
    return ranked_decisions(ordered, "uniform in time", "uniform", budget)


UNIFORM = SelectionStrategy(
    "uniform", uniform_decisions, judged=False,
    description="baseline: frames evenly spaced in MD time",
)  # fmt: skip
