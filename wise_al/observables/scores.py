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
from typing import Any, Literal

from wise_al.observables.reference import experimental_sq, references_21m
from wise_al.observables.structure_factor import first_peak_per_A

#: Threshold sets, by name: metric -> (good, bad), errors in the metric's unit.
#: ``ml-peg-pr445``: announced for the benchmark's next revision (ddmms/ml-peg PR #445,
#: comment of 2026-09-14), the default; ``ml-peg-metrics``: what its code holds today
#: (``metrics.yml`` at c9ad100f: density 0 / 10 %, R 0 / 0.5). CN thresholds are the same.
THRESHOLD_SETS: dict[str, dict[str, tuple[float, float]]] = {
    "ml-peg-pr445": {
        "density_error_percent": (2.0, 15.0),
        "sq_r_factor": (0.02, 0.21),
        "cn_li_o_water_error": (0.15, 0.5),
        "cn_li_o_tfsi_error": (0.05, 0.5),
    },
    "ml-peg-metrics": {
        "density_error_percent": (0.0, 10.0),
        "sq_r_factor": (0.0, 0.5),
        "cn_li_o_water_error": (0.15, 0.5),
        "cn_li_o_tfsi_error": (0.05, 0.5),
    },
}
ThresholdSet = Literal["ml-peg-pr445", "ml-peg-metrics"]
DEFAULT_THRESHOLDS: ThresholdSet = "ml-peg-pr445"
THRESHOLDS = THRESHOLD_SETS[DEFAULT_THRESHOLDS]
#: The theory references the coordination errors are taken against (r2SCAN MACE, > 2 ns).
CN_REFERENCE = {"water": 2.4, "tfsi": 1.9}
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
    if report.get("density_ensemble") != "NPT":
        reasons["density_error_percent"] = (
            "not measurable: an NVT run keeps the density it was given (run NPT)"
        )
    q_min = report.get("sq_min_q_per_A")
    q_peak = EXPERIMENTAL_FIRST_PEAK_PER_A
    if q_min is None or q_min * SQ_SHELLS_BELOW_PEAK > q_peak:
        shown = "unknown" if q_min is None else f"{q_min:.2f} Å⁻¹"
        reasons["sq_r_factor"] = (
            f"not measurable: the cell's smallest wave vector ({shown}) gives fewer than "
            f"{SQ_SHELLS_BELOW_PEAK} below the experimental first peak ({q_peak:.2f} Å⁻¹), "
            f"where most of R comes from; use a cell over "
            f"{SQ_SHELLS_BELOW_PEAK * 2 * math.pi / q_peak:.0f} Å"
        )
    return reasons


def metric_values(report: dict[str, Any]) -> dict[str, float]:
    """The scored metrics a report holds and can measure (:func:`not_measurable`); none of a
    run that broke."""
    density = references_21m()["density_g_cm3"]["value"]
    values: dict[str, float] = {}
    if report.get("broke_at_step") is not None:
        return values
    unmeasurable = not_measurable(report)
    if report.get("density_g_per_cm3") is not None:
        values["density_error_percent"] = 100 * abs(report["density_g_per_cm3"] / density - 1)
    if report.get("sq_r_factor") is not None:
        values["sq_r_factor"] = float(report["sq_r_factor"])
    for metric in unmeasurable:
        values.pop(metric, None)
    if report.get("cn_li_o_water") is not None:
        values["cn_li_o_water_error"] = abs(report["cn_li_o_water"] - CN_REFERENCE["water"])
        values["cn_li_o_tfsi_error"] = abs(report["cn_li_o_tfsi"] - CN_REFERENCE["tfsi"])
    return values


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
        return [_ungraded(m, thresholds, "not graded", reason) for m in THRESHOLD_SETS[thresholds]]
    rows = [
        asdict(grade(metric, value, thresholds)) for metric, value in metric_values(report).items()
    ]
    rows += [
        _ungraded(metric, thresholds, "not measurable", reason)
        for metric, reason in not_measurable(report).items()
    ]
    return rows


def observable_values(report: dict[str, Any]) -> dict[str, float]:
    """What a stopping rule may name: the scored errors and the Li–Li contact fraction."""
    values = metric_values(report)
    if report.get("li_li_contact_fraction") is not None:
        values["li_li_contact_fraction"] = float(report["li_li_contact_fraction"])
    return values
