"""Step 2: drop near-duplicates (consecutive MD frames often are)."""

from __future__ import annotations

import numpy as np

from wise_al.selection.base import Candidate, Decision, priority


def standardized(descriptors: np.ndarray) -> np.ndarray:
    """Descriptors scaled per feature and by sqrt(features): distances of order 1."""
    spread = descriptors.std(axis=0)
    spread[spread == 0] = 1.0
    return (descriptors - descriptors.mean(axis=0)) / spread / np.sqrt(descriptors.shape[1])


def remove_near_duplicates(
    candidates: list[Candidate], min_distance: float
) -> tuple[list[Candidate], list[Decision]]:
    """Greedy, most valuable first: a frame closer than ``min_distance`` to a kept one goes.

    Frames leading into a break stay: what changes there is one pair of atoms, which a
    descriptor averaged over the cell barely sees.
    """
    if not candidates:
        return [], []
    ordered = sorted(candidates, key=priority)
    points = standardized(np.stack([c.descriptor for c in ordered]))
    kept: list[int] = []
    rejected = []
    for k, candidate in enumerate(ordered):
        if kept and candidate.onset_of_step is None:
            distances = np.linalg.norm(points[kept] - points[k], axis=1)
            nearest = int(np.argmin(distances))
            if distances[nearest] < min_distance:
                twin = ordered[kept[nearest]].index
                rejected.append(
                    Decision(
                        candidate.index,
                        False,
                        f"near-duplicate of frame {twin} (distance {distances[nearest]:.3f})",
                    )
                )
                continue
        kept.append(k)
    return [ordered[k] for k in kept], rejected
