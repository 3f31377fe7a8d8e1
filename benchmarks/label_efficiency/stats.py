"""The statistics of the benchmark: time-to-event over labels and paired differences.

"Time" is labels: an arm's seed has its **event** at the first budget whose model passes
the survival MD, and is **censored** at the largest budget when none passes. Survival
curves are Kaplan–Meier estimates (:func:`scipy.stats.ecdf` on censored data, with 95 %
confidence bands), arms are compared with the log-rank test (:func:`scipy.stats.logrank`).
Errors are compared seed by seed (every arm of a seed starts from the same labels): the
mean difference with a 95 % t interval and the Wilcoxon signed-rank test, with
Benjamini–Hochberg q-values over all the comparisons of one table.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats


def labels_to_pass(rows: Sequence[dict[str, Any]], largest: int) -> tuple[float, bool]:
    """(labels, event) of one arm and seed: the first budget that passed, or the largest
    budget, censored, when none did. ``rows`` are the arm's rows of one seed."""
    passed = sorted(r["labels"] for r in rows if r.get("survival", {}).get("passed"))
    return (float(passed[0]), True) if passed else (float(largest), False)


def _censored(times: Sequence[tuple[float, bool]]) -> stats.CensoredData:
    return stats.CensoredData(
        uncensored=[t for t, event in times if event], right=[t for t, event in times if not event]
    )


def kaplan_meier(times: Sequence[tuple[float, bool]]) -> dict[str, Any]:
    """The probability that the contacts are still there after n labels, with its 95 %
    band, and the median labels with its confidence interval (None: not reached)."""
    if not any(event for _, event in times):
        return {
            "labels": [],
            "survival": [],
            "low": [],
            "high": [],
            "median": None,
            "median_ci": [None, None],
            "events": 0,
            "seeds": len(times),
        }
    curve = stats.ecdf(_censored(times)).sf
    with warnings.catch_warnings():
        # undefined where S is 0 or 1 (nan): read below as the band's widest value
        warnings.simplefilter("ignore", RuntimeWarning)
        interval = curve.confidence_interval(0.95, method="log-log")
    low, high = interval.low.probabilities, interval.high.probabilities

    def crossing(values: np.ndarray) -> float | None:
        below = np.flatnonzero(np.nan_to_num(values, nan=1.0) <= 0.5)
        return float(curve.quantiles[below[0]]) if len(below) else None

    return {
        "labels": curve.quantiles.tolist(),
        "survival": curve.probabilities.tolist(),
        "low": np.nan_to_num(low, nan=0.0).tolist(),
        "high": np.nan_to_num(high, nan=1.0).tolist(),
        "median": crossing(curve.probabilities),
        "median_ci": [crossing(low), crossing(high)],
        "events": sum(event for _, event in times),
        "seeds": len(times),
    }


def log_rank(a: Sequence[tuple[float, bool]], b: Sequence[tuple[float, bool]]) -> float | None:
    """Two-sided log-rank p-value of two arms (None when it is not defined: no event, or
    every event at one number of labels)."""
    if not any(e for _, e in a) and not any(e for _, e in b):
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        p = float(stats.logrank(_censored(a), _censored(b)).pvalue)
    return None if np.isnan(p) else p


def paired(differences: Sequence[float]) -> dict[str, Any]:
    """Mean of per-seed differences, its 95 % t interval and the Wilcoxon p-value."""
    d = np.asarray(differences, dtype=float)
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    if n < 2:
        return {"n": n, "mean": mean, "ci": [None, None], "wilcoxon_p": None}
    low, high = (
        stats.t.interval(0.95, n - 1, loc=mean, scale=stats.sem(d)) if d.std() else (mean, mean)
    )
    p = float(stats.wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return {"n": n, "mean": mean, "ci": [float(low), float(high)], "wilcoxon_p": p}


def with_q_values(comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each comparison with ``q`` (Benjamini–Hochberg over all of them that have a p)."""
    tested = [c for c in comparisons if c.get("wilcoxon_p") is not None]
    if tested:
        q = stats.false_discovery_control([c["wilcoxon_p"] for c in tested])
        for c, value in zip(tested, q, strict=True):
            c["q"] = float(value)
    return comparisons
