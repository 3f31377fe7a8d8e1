"""What the validation page draws: the committee against experiment, per iteration.

Figures of one iteration come from :mod:`wise_al.observables.figures` (the ones
``wise-al observe --plot`` writes); trends across iterations are built here. Pure
functions of stored rows, tested without a browser.
"""

from __future__ import annotations

from typing import Any

from services.api.dashboard.views import LAYOUT, figure_spec
from wise_al.db.models import Validation
from wise_al.observables.reference import references_21m

#: Species of the diffusion trend, in the experimental order (fastest first).
DIFFUSING = ("H2O", "Li+", "TFSI-")


def iteration_figures(validation: Validation) -> dict[str, dict[str, Any]]:
    """S(q) over experiment, g(r), density and coordination against time of one validation."""
    from wise_al.observables.figures import report_figures  # plotly: only when drawing

    specs = {}
    for name, figure in report_figures(validation.observables).items():
        spec = figure.to_plotly_json()
        spec["layout"] = {**spec["layout"], **LAYOUT, "height": 340}
        specs[name] = spec
    return specs


def trend_figure(validations: list[Validation]) -> dict[str, Any]:
    """Li–Li contact frequency and self-diffusion per iteration (the paper's failure signature
    and the dynamics, side by side)."""
    done = [v for v in validations if v.observables]
    x = [v.iteration_index for v in done]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "frames with a Li–Li contact",
            "x": x,
            "y": [v.observables.get("li_li_contact_fraction") for v in done],
        }
    ]
    for species in DIFFUSING:
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"D {species} (Å²/ps)",
                "yaxis": "y2",
                "x": x,
                "y": [
                    ((v.observables.get("diffusion_A2_per_ps") or {}).get(species) or {}).get("d")
                    for v in done
                ],
            }
        )
    return figure_spec(
        "Li–Li contacts and diffusion per iteration",
        data,
        xaxis={"title": {"text": "iteration"}, "dtick": 1},
        yaxis={"title": {"text": "contact fraction"}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "D (Å²/ps)"}, "overlaying": "y", "side": "right"},
    )


def coordination_rows(validation: Validation) -> list[dict[str, Any]]:
    """Li–O coordination of one validation beside experiment and the theory references."""
    refs = references_21m()["li_o_coordination"]
    experiment, aimd, mace = (
        refs["experiment"],
        refs["r2scan_aimd_20ps"],
        refs["r2scan_mace_over_2ns"],
    )

    def span(value: Any) -> str:
        return f"{value[0]}–{value[1]}" if isinstance(value, list) else f"{value}"

    return [
        {
            "oxygen": name,
            "this": validation.observables.get(f"cn_li_o_{key}"),
            "experiment": span(experiment[key]),
            "aimd": span(aimd[key]),
            "mace": span(mace[key]),
        }
        for key, name in (("water", "water O"), ("tfsi", "TFSI O"), ("total", "total"))
    ]
