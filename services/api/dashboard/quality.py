"""Figures and columns of a committee's quality: held-out errors by split, and calibration.

Valid, test and external errors answer different questions and never share a column, a
line or a trace: valid frames chose when training stopped, test frames are whole walker
runs never trained on, the external set is the same fixed frames every iteration.
"""

from __future__ import annotations

from typing import Any

from services.api.dashboard.views import diagonal_trace, figure_spec
from wise_al.db.repositories.overview import IterationSummary

#: Held-out splits in the order they are shown, with their line style.
SPLITS = (("valid", "solid"), ("test", "dot"), ("external", "dash"))


def held_out_splits(iterations: list[IterationSummary]) -> list[str]:
    """The splits any iteration has errors for (valid and test always, external if used)."""
    seen = {
        split
        for it in iterations
        for split, _ in SPLITS
        if f"{split}_forces_rmse_meV_per_A" in it.iteration.metrics.get("evaluation", {})
    }
    return [split for split, _ in SPLITS if split in seen or split in ("valid", "test")]


def calibration_figure(
    iterations: list[IterationSummary], trust_hi_eV_per_A: float
) -> dict[str, Any]:
    """Per labelled frame: the exploring committee's max deviation against its true error.

    A calibrated committee sits near the diagonal; an under-dispersed one far left of it
    (it calls frames accurate that are wrong). Log axes: errors span decades.
    """
    data: list[dict[str, Any]] = []
    low, high = 1.0, 1e-3
    for it in iterations:
        found = it.iteration.metrics.get("calibration") or {}
        if found.get("status") != "done":
            continue
        predicted, true = found["predicted_max_eV_per_A"], found["true_max_eV_per_A"]
        positive = [v for v in (*predicted, *true) if v > 0]
        low, high = min(low, *positive), max(high, *positive)
        ratio = found.get("dispersion_ratio")
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"iteration {it.iteration.index}"
                + (f" (σ/error {ratio:.2g})" if ratio is not None else ""),
                "x": predicted,
                "y": true,
            }
        )
    if data:
        data.append(diagonal_trace(low, high, "deviation = error"))
    return figure_spec(
        "Calibration: predicted deviation vs true error on new labels",
        data,
        xaxis={"title": {"text": "committee max σ_F (eV/Å)"}, "type": "log"},
        yaxis={"title": {"text": "true max force error (eV/Å)"}, "type": "log"},
        shapes=[
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": trust_hi_eV_per_A,
                "y1": trust_hi_eV_per_A,
                "line": {"color": "#e76f51", "dash": "dash", "width": 1},
            }
        ],
    )
