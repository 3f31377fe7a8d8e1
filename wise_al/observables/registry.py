"""Every scalar a validation reports, and every error it is judged by, declared once.

An :class:`Observable` is a number of a validation report (``wise-al observe``, the loop's
validation phase): how to read it and its block error from the report, its label, unit and
the reference it is compared with. A :class:`Metric` is an error of one observable against
its reference (lower is better): what a stopping rule may name (``observable_targets``) and,
where it has thresholds, what is graded good, fair or bad (:mod:`wise_al.observables.scores`).

The validation tables (CLI and dashboard), the API's summaries, the study comparison, the
spec's choices and the grades all derive from :data:`OBSERVABLES` and :data:`METRICS`: a new
observable is one record here and its computation in :mod:`wise_al.observables.report`.

This module is light on purpose (no SciPy): the spec and the API import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from wise_al.observables.reference import references_21m

Report = Mapping[str, Any]

#: Threshold sets, by name. ``ml-peg-pr445``: announced for the benchmark's next revision
#: (ddmms/ml-peg PR #445, comment of 2026-09-14), the default; ``ml-peg-metrics``: what its
#: code holds today (``metrics.yml`` at c9ad100f: density 0 / 10 %, R 0 / 0.5). CN
#: thresholds are the same in both.
ThresholdSet = Literal["ml-peg-pr445", "ml-peg-metrics"]
DEFAULT_THRESHOLDS: ThresholdSet = "ml-peg-pr445"
#: The theory references the coordination errors are taken against (r2SCAN MACE, > 2 ns),
#: as the benchmark does; experiment is shown, not graded.
CN_REFERENCE = {"water": 2.4, "tfsi": 1.9}


def _diffusion_of(species: str, part: str) -> Callable[[Report], float | None]:
    def read(report: Report) -> float | None:
        value = ((report.get("diffusion_A2_per_ps") or {}).get(species) or {}).get(part)
        return None if value is None else float(value)

    return read


@dataclass(frozen=True)
class Observable:
    """One scalar of a validation report.

    Attributes
    ----------
    key
        Its name (the report's key unless ``read`` says otherwise).
    label
        A column heading, unit included.
    digits
        Decimals shown.
    reference
        What it is compared with, in words (shown beside it); empty when nothing is.
    stderr_key
        The report's key of its block standard error, if it has one.
    read, read_stderr
        How to find it (and its error) in a report nested deeper than one key.
    in_table
        A column of the per-iteration validation tables (CLI and dashboard); every
        observable is a row of ``wise-al observe``'s comparison.
    """

    key: str
    label: str
    digits: int
    reference: str = ""
    stderr_key: str | None = None
    read: Callable[[Report], float | None] | None = None
    read_stderr: Callable[[Report], float | None] | None = None
    in_table: bool = True

    def value(self, report: Report) -> float | None:
        """Its value in ``report`` (None when the run did not measure it)."""
        if self.read is not None:
            return self.read(report)
        value = report.get(self.key)
        return None if value is None else float(value)

    def stderr(self, report: Report) -> float | None:
        """Its block standard error in ``report``, if measured."""
        if self.read_stderr is not None:
            return self.read_stderr(report)
        value = report.get(self.stderr_key) if self.stderr_key else None
        return None if value is None else float(value)

    def shown(self, report: Report) -> str:
        """Its value for a table: ``–`` when not measured, ``± error`` when it has one."""
        value = self.value(report)
        if value is None:
            return "–"
        error = self.stderr(report)
        tail = "" if error is None else f" ± {error:.{self.digits}f}"
        return f"{value:.{self.digits}f}{tail}"


@dataclass(frozen=True)
class Metric:
    """An error of one observable against its reference; lower is better.

    Attributes
    ----------
    key
        Its name (stopping rules, grades, study columns).
    label
        A column heading, unit included.
    observable
        The :class:`Observable` it is computed from.
    error
        The error of a value of that observable.
    thresholds
        ``(good, bad)`` per threshold set; a metric without any is not graded.
    needs_npt
        Only measurable by a run whose cell may change (an NVT run keeps its density).
    needs_low_q
        Only measurable from a cell that samples wave vectors below the first S(q) peak.
    """

    key: str
    label: str
    observable: str
    error: Callable[[float], float]
    thresholds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    needs_npt: bool = False
    needs_low_q: bool = False

    def of(self, report: Report) -> float | None:
        """Its value for ``report`` (None when the observable was not measured)."""
        value = OBSERVABLES[self.observable].value(report)
        return None if value is None else self.error(value)


_refs = references_21m()
_DENSITY = _refs["density_g_cm3"]["value"]
_CN = _refs["li_o_coordination"]["experiment"]

#: Every scalar of a validation report shown in its tables, in their column order.
OBSERVABLES: dict[str, Observable] = {
    o.key: o
    for o in (
        Observable(
            "density_g_per_cm3", "density (g/cm³)", 4, f"{_DENSITY}",
            stderr_key="density_stderr_g_per_cm3",
        ),
        Observable("cn_li_o_water", "CN water O", 2, f"{_CN['water']}"),
        Observable("cn_li_o_tfsi", "CN TFSI O", 2, f"{_CN['tfsi']}"),
        Observable(
            "cn_li_o_total", "CN total", 2, f"{_CN['total']} ± {_CN['total_err']}",
            stderr_key="cn_li_o_total_stderr", in_table=False,
        ),
        Observable("sq_r_factor", "S(q) R-factor", 3, "good < 0.02, bad > 0.21"),
        Observable(
            "sq_first_peak_per_A", "S(q) first peak (1/Å)", 2,
            f"{_refs['xray_sq']['first_peak_A-1']}", in_table=False,
        ),
        Observable("li_li_contact_fraction", "Li–Li contact frames", 3, "0"),
        Observable("li_li_closest_A", "closest Li–Li (Å)", 2, "", in_table=False),
        *(
            Observable(
                f"diffusion_{name}", f"D {species} (Å²/ps)", 4,
                "water > Li+ > TFSI- (PFG-NMR)",
                read=_diffusion_of(species, "d"), read_stderr=_diffusion_of(species, "stderr"),
                in_table=species == "Li+",
            )
            for name, species in (("water", "H2O"), ("li", "Li+"), ("tfsi", "TFSI-"))
        ),
    )
}  # fmt: skip

#: Every error a stopping rule may name; those with thresholds are graded.
METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "density_error_percent", "density error (%)", "density_g_per_cm3",
            lambda d: 100 * abs(d / _DENSITY - 1),
            {"ml-peg-pr445": (2.0, 15.0), "ml-peg-metrics": (0.0, 10.0)},
            needs_npt=True,
        ),
        Metric(
            "sq_r_factor", "S(q) R-factor", "sq_r_factor", float,
            {"ml-peg-pr445": (0.02, 0.21), "ml-peg-metrics": (0.0, 0.5)},
            needs_low_q=True,
        ),
        Metric(
            "cn_li_o_water_error", "CN water O error", "cn_li_o_water",
            lambda cn: abs(cn - CN_REFERENCE["water"]),
            dict.fromkeys(("ml-peg-pr445", "ml-peg-metrics"), (0.15, 0.5)),
        ),
        Metric(
            "cn_li_o_tfsi_error", "CN TFSI O error", "cn_li_o_tfsi",
            lambda cn: abs(cn - CN_REFERENCE["tfsi"]),
            dict.fromkeys(("ml-peg-pr445", "ml-peg-metrics"), (0.05, 0.5)),
        ),
        Metric("li_li_contact_fraction", "Li–Li contact frames", "li_li_contact_fraction", float),
    )
}  # fmt: skip

#: Metrics graded against thresholds, in order.
GRADED = tuple(m for m in METRICS.values() if m.thresholds)
#: Threshold set -> metric -> (good, bad), derived from :data:`METRICS`.
THRESHOLD_SETS: dict[str, dict[str, tuple[float, float]]] = {
    name: {m.key: m.thresholds[name] for m in GRADED} for name in get_args(ThresholdSet)
}

if TYPE_CHECKING:
    ObservableMetric = str
else:
    #: The spec's choices of a stopping rule's observable: the keys of :data:`METRICS`.
    ObservableMetric = Literal[tuple(METRICS)]
