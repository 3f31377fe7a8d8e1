"""Scores of a potential against experiment: the benchmark's good and bad thresholds.

Each metric is an error (lower is better) graded against two thresholds: ``good`` at or
below the first, ``bad`` at or above the second, ``fair`` between, with a score that falls
linearly from 1 to 0 between them (the ml-peg convention). Coordination errors are taken
against the theory references 2.4 (water O) and 1.9 (TFSI O), as the benchmark does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from wise_al.observables.reference import references_21m

#: Metric -> (good, bad): ddmms/ml-peg PR #445 (science.md), errors in the metric's unit.
THRESHOLDS: dict[str, tuple[float, float]] = {
    "density_error_percent": (2.0, 15.0),
    "sq_r_factor": (0.02, 0.21),
    "cn_li_o_water_error": (0.15, 0.5),
    "cn_li_o_tfsi_error": (0.05, 0.5),
}
#: The theory references the coordination errors are taken against (r2SCAN MACE, > 2 ns).
CN_REFERENCE = {"water": 2.4, "tfsi": 1.9}


@dataclass(frozen=True)
class Score:
    """One metric of a report, graded."""

    metric: str
    value: float
    good: float
    bad: float
    grade: str  # good, fair or bad
    score: float  # 1 at good, 0 at bad, linear between


def grade(metric: str, value: float) -> Score:
    """Grade ``value`` of ``metric`` against :data:`THRESHOLDS`."""
    good, bad = THRESHOLDS[metric]
    fraction = min(max((bad - value) / (bad - good), 0.0), 1.0)
    label = "good" if value <= good else "bad" if value >= bad else "fair"
    return Score(metric, float(value), good, bad, label, fraction)


def metric_values(report: dict[str, Any]) -> dict[str, float]:
    """The scored metrics a report holds (a report without Li or S(q) lacks some)."""
    density = references_21m()["density_g_cm3"]["value"]
    values: dict[str, float] = {}
    if report.get("density_g_per_cm3") is not None:
        values["density_error_percent"] = 100 * abs(report["density_g_per_cm3"] / density - 1)
    if report.get("sq_r_factor") is not None:
        values["sq_r_factor"] = float(report["sq_r_factor"])
    if report.get("cn_li_o_water") is not None:
        values["cn_li_o_water_error"] = abs(report["cn_li_o_water"] - CN_REFERENCE["water"])
        values["cn_li_o_tfsi_error"] = abs(report["cn_li_o_tfsi"] - CN_REFERENCE["tfsi"])
    return values


def score_report(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every scored metric of ``report``, graded, as JSON-able rows."""
    return [asdict(grade(metric, value)) for metric, value in metric_values(report).items()]


def observable_values(report: dict[str, Any]) -> dict[str, float]:
    """What a stopping rule may name: the scored errors and the Li–Li contact fraction."""
    values = metric_values(report)
    if report.get("li_li_contact_fraction") is not None:
        values["li_li_contact_fraction"] = float(report["li_li_contact_fraction"])
    return values
