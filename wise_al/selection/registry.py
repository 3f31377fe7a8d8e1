"""Every selection strategy, each declared in its own module; the spec's choices
(``selection.strategy``, a study variant's ``selection``) are derived from here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from wise_al.selection.base import SelectionStrategy
from wise_al.selection.committee import COMMITTEE
from wise_al.selection.random_draw import RANDOM
from wise_al.selection.uniform_time import UNIFORM

STRATEGIES: dict[str, SelectionStrategy] = {s.name: s for s in (COMMITTEE, RANDOM, UNIFORM)}

if TYPE_CHECKING:
    StrategyName = str
else:
    #: The spec's choices of ``selection.strategy``.
    StrategyName = Literal[tuple(STRATEGIES)]
