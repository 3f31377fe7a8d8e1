"""Step 3: farthest-point sampling on descriptors, urgent frames first."""

from __future__ import annotations

import numpy as np

from wise_al.selection.base import Candidate, priority
from wise_al.selection.dedupe import standardized


def farthest_point_order(candidates: list[Candidate], seed: int = 0) -> list[Candidate]:
    """Order candidates so that any prefix is as spread out as possible.

    Urgent frames (flagged, or leading into a break) come first (farthest-point among
    themselves), then the others, each
    chosen farthest from everything before it. The first pick is the most valuable frame;
    exact ties in distance are broken by a permutation drawn from ``seed``.
    """
    if len(candidates) <= 1:
        return list(candidates)
    points = standardized(np.stack([c.descriptor for c in candidates]))
    tie_break = np.random.default_rng(seed).permutation(len(candidates)) * 1e-12
    order = [min(range(len(candidates)), key=lambda k: priority(candidates[k]))]
    nearest = np.linalg.norm(points - points[order[0]], axis=1)
    urgent = np.array([c.urgent for c in candidates])
    remaining = set(range(len(candidates))) - set(order)
    while remaining:
        pool = [k for k in remaining if urgent[k]] or list(remaining)
        pick = max(pool, key=lambda k: nearest[k] + tie_break[k])
        order.append(pick)
        remaining.discard(pick)
        nearest = np.minimum(nearest, np.linalg.norm(points - points[pick], axis=1))
    return [candidates[k] for k in order]
