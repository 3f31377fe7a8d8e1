"""Selection baselines: what active learning must beat at the same label budget.

Neither looks at the committee or the flags: ``random`` draws frames from everything the
walkers saved, ``uniform`` takes frames evenly spaced in MD time (walker by walker, in
order), the way a user subsamples an AIMD trajectory.
"""

from __future__ import annotations

import numpy as np

from wise_al.selection.base import Candidate, Decision


def random_order(candidates: list[Candidate], seed: int) -> list[Candidate]:
    """Every candidate, in a random order fixed by ``seed``."""
    ordered = sorted(candidates, key=lambda c: c.index)
    rng = np.random.default_rng(seed)
    return [ordered[k] for k in rng.permutation(len(ordered))]


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


def baseline_decisions(
    candidates: list[Candidate], strategy: str, budget: int, seed: int
) -> list[Decision]:
    """Decisions of the ``random`` or ``uniform`` baseline; at most ``budget`` selected."""
    if strategy == "random":
        ordered, how = random_order(candidates, seed), "random draw"
    elif strategy == "uniform":
        ordered, how = uniform_order(candidates, budget), "uniform in time"
    else:
        raise ValueError(f"not a baseline selection strategy: {strategy!r}")
    return [
        Decision(c.index, True, f"{how} #{rank + 1}")
        if rank < budget
        else Decision(c.index, False, f"not picked by the {strategy} baseline (budget {budget})")
        for rank, c in enumerate(ordered)
    ]
