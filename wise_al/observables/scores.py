"""Scores of a potential against experiment: the benchmark's good and bad thresholds.

Each metric is an error (lower is better) graded against two thresholds: ``good`` at or
below the first, ``bad`` at or above the second, ``fair`` between, with a score that falls
linearly from 1 to 0 between them (the ml-peg convention). Coordination errors are taken
against the theory references 2.4 (water O) and 1.9 (TFSI O), as the benchmark does.

A metric the run cannot measure is not graded, and says why (:func:`not_measurable`): the
density of an NVT run is the density it was given, and an S(q) whose cell samples fewer
than :data:`SQ_SHELLS_BELOW_PEAK` wave vectors below the experimental first peak cannot
place that peak. A run that broke is not graded at all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from wise_al.observables.reference import experimental_sq
from wise_al.observables.registry import DEFAULT_THRESHOLDS, GRADED, METRICS, THRESHOLD_SETS
from wise_al.observables.structure_factor import first_peak_per_A

#: The default set's thresholds: metric -> (good, bad).
THRESHOLDS = THRESHOLD_SETS[DEFAULT_THRESHOLDS]
#: Where the measured X-ray S(q) of 21 m LiTFSI peaks first (its highest point below 2 Å⁻¹).
EXPERIMENTAL_FIRST_PEAK_PER_A = first_peak_per_A(*experimental_sq())
#: Wave-vector shells a cell must sample below that peak for its S(q) to be graded: about
#: 85 % of R comes from q < 1.5 Å⁻¹ (science notes), so one or two points there decide R.
SQ_SHELLS_BELOW_PEAK = 3


@dataclass(frozen=True)
class Score:
    """One metric of a report, graded."""

    metric: str
    value: float
    good: float
    bad: float
    grade: str  # good, fair or bad
    score: float  # 1 at good, 0 at bad, linear between
    thresholds: str  # the set they come from (THRESHOLD_SETS)


def grade(metric: str, value: float, thresholds: str = DEFAULT_THRESHOLDS) -> Score:
    """Grade ``value`` of ``metric`` against the threshold set named ``thresholds``."""
    good, bad = THRESHOLD_SETS[thresholds][metric]
    fraction = min(max((bad - value) / (bad - good), 0.0), 1.0)
    label = "good" if value <= good else "bad" if value >= bad else "fair"
    return Score(metric, float(value), good, bad, label, fraction, thresholds)


def not_measurable(report: dict[str, Any]) -> dict[str, str]:
    """Metrics this run cannot measure, each with the reason.

    A report says how its density was obtained (``density_ensemble``: ``NPT`` measures it;
    ``NVT`` or unknown imposes it) and the smallest wave vector of its cell
    (``sq_min_q_per_A``).
    """
    reasons: dict[str, str] = {}
    q_min = report.get("sq_min_q_per_A")
    q_peak = EXPERIMENTAL_FIRST_PEAK_PER_A
    for metric in METRICS.values():
        if metric.needs_npt and report.get("density_ensemble") != "NPT":
            reasons[metric.key] = (
                "not measurable: an NVT run keeps the density it was given (run NPT)"
            )
        if metric.needs_low_q and (q_min is None or q_min * SQ_SHELLS_BELOW_PEAK > q_peak):
            shown = "unknown" if q_min is None else f"{q_min:.2f} Å⁻¹"
            reasons[metric.key] = (
                f"not measurable: the cell's smallest wave vector ({shown}) gives fewer than "
                f"{SQ_SHELLS_BELOW_PEAK} below the experimental first peak ({q_peak:.2f} Å⁻¹), "
                f"where most of R comes from; use a cell over "
                f"{SQ_SHELLS_BELOW_PEAK * 2 * math.pi / q_peak:.0f} Å"
            )
    return reasons


def metric_values(report: dict[str, Any]) -> dict[str, float]:
    """The graded metrics a report holds and can measure (:func:`not_measurable`); none of a
    run that broke."""
    if report.get("broke_at_step") is not None:
        return {}
    unmeasurable = not_measurable(report)
    values = {m.key: m.of(report) for m in GRADED if m.key not in unmeasurable}
    return {key: value for key, value in values.items() if value is not None}


def _ungraded(metric: str, thresholds: str, grade: str, reason: str) -> dict[str, Any]:
    good, bad = THRESHOLD_SETS[thresholds][metric]
    return {"metric": metric, "value": None, "good": good, "bad": bad, "grade": grade,
            "score": None, "thresholds": thresholds, "reason": reason}  # fmt: skip


def score_report(
    report: dict[str, Any], thresholds: str = DEFAULT_THRESHOLDS
) -> list[dict[str, Any]]:
    """Every scored metric of ``report``, graded against the set ``thresholds``, as JSON-able
    rows. A metric the run cannot measure is a row graded ``not measurable`` with no value and
    its ``reason``; a run that broke (``broke_at_step``) grades nothing (``not graded``)."""
    if report.get("broke_at_step") is not None:
        reason = f"the run broke at step {report['broke_at_step']} ({report.get('broke_because')})"
        return [_ungraded(m.key, thresholds, "not graded", reason) for m in GRADED]
    rows = [
        asdict(grade(metric, value, thresholds)) for metric, value in metric_values(report).items()
    ]
    rows += [
        _ungraded(metric, thresholds, "not measurable", reason)
        for metric, reason in not_measurable(report).items()
    ]
    return rows


def observable_values(report: dict[str, Any]) -> dict[str, float]:
    """What a stopping rule may name (:data:`~wise_al.observables.registry.METRICS`): the
    graded errors the run can measure, and the ungraded ones it holds."""
    values = metric_values(report)
    for metric in METRICS.values():
        value = None if metric.thresholds else metric.of(report)
        if value is not None:
            values[metric.key] = value
    return values
