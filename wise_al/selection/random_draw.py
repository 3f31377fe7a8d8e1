"""The ``random`` baseline: frames drawn at random from everything the walkers saved, blind
to the committee and the flags; what active learning must beat at the same budget."""

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


def random_order(candidates: list[Candidate], seed: int) -> list[Candidate]:
    """Every candidate, in a random order fixed by ``seed``."""
    ordered = sorted(candidates, key=lambda c: c.index)
    rng = np.random.default_rng(seed)
    return [ordered[k] for k in rng.permutation(len(ordered))]


def random_decisions(
    candidates: list[Candidate],
    selection: SelectionSettings,
    window: TrustWindow | None,
    budget: int,
) -> list[Decision]:
    """A random draw of ``budget`` candidates, fixed by ``selection.seed``."""
    del window  # a baseline does not look at the committee
    return ranked_decisions(
        random_order(candidates, selection.seed), "random draw", "random", budget
    )


RANDOM = SelectionStrategy(
    "random", random_decisions, judged=False,
    description="baseline: a random draw of all saved frames",
)  # fmt: skip
