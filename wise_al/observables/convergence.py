"""Running and block averages: whether a run was long enough for an observable."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class BlockAverage:
    """Mean of a time series with the standard error of its block means.

    Attributes
    ----------
    mean
        Mean over the blocks (the samples they hold).
    stderr
        Standard deviation of the block means over sqrt(blocks - 1): correlated samples
        within a block do not count as independent.
    block_means
        Mean of each block, oldest first.
    """

    mean: float
    stderr: float
    block_means: tuple[float, ...]


def block_average(values: ArrayLike, blocks: int = 5) -> BlockAverage:
    """Split ``values`` into ``blocks`` equal blocks (dropping the oldest remainder).

    Raises
    ------
    ValueError
        With fewer than two blocks or fewer samples than blocks.
    """
    series = np.asarray(values, dtype=float)
    if blocks < 2 or len(series) < blocks:
        raise ValueError(f"{len(series)} samples cannot make {blocks} blocks (at least 2)")
    size = len(series) // blocks
    kept = series[len(series) - size * blocks :]
    means = kept.reshape(blocks, size).mean(axis=1)
    stderr = float(means.std(ddof=1) / np.sqrt(blocks))
    return BlockAverage(float(means.mean()), stderr, tuple(float(m) for m in means))


def running_average(values: ArrayLike) -> np.ndarray:
    """Mean of the first k samples, for every k (the curve a user reads convergence from)."""
    series = np.asarray(values, dtype=float)
    return np.cumsum(series) / np.arange(1, len(series) + 1)
