"""An adaptive trust window: DP-GEN's adaptive lower level.

A fixed ``trust_lo`` means nothing to a committee whose deviations all sit above it (or all
below): every frame is a candidate, or none is. The adaptive lower level is set each
iteration so that a target share of the judged frames falls in ``[trust_lo, trust_hi)``:
the frames the committee doubts most, short of the ones it has given up on.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The lowest lower level an adaptive window takes (a deviation of exactly 0 is unjudged).
MIN_TRUST_LO_EV_PER_A = 1e-6


def adapted_trust_lo(scores: Sequence[float], trust_hi_eV_per_A: float, share: float) -> float:
    """The ``trust_lo`` that puts ``share`` of ``scores`` in ``[trust_lo, trust_hi)``.

    Parameters
    ----------
    scores
        Max deviation (scaled as the window reads it) of every judged, unflagged frame.
    trust_hi_eV_per_A
        The fixed upper level: frames at or above it are failed whatever the share.
    share
        Target fraction of all ``scores`` to be candidates (at least one frame when any
        scores lie below ``trust_hi``).
    """
    below = sorted((s for s in scores if s < trust_hi_eV_per_A), reverse=True)
    if not below:
        return max(MIN_TRUST_LO_EV_PER_A, trust_hi_eV_per_A / 2)  # nothing to adapt to
    wanted = min(max(1, round(share * len(scores))), len(below))
    return max(MIN_TRUST_LO_EV_PER_A, below[wanted - 1])
