"""What the study page draws: the variants' learning curves overlaid. Pure functions of the
comparison rows (``wise_al.jobs.studies``), tested without a browser."""

from __future__ import annotations

from typing import Any

from services.api.dashboard.views import figure_spec
from wise_al.jobs.studies import VariantRow


def _name(row: VariantRow, seeds: int) -> str:
    return row.variant + (f" (seed {row.seed})" if seeds > 1 else "")


def learning_curves(rows: list[VariantRow], seeds: int) -> dict[str, Any]:
    """Force error on the shared test set against CP2K labels spent, one line per variant."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _name(row, seeds),
            "x": [point["labels_cp2k"] for point in row.curve],
            "y": [point["forces_rmse_meV_per_A"] for point in row.curve],
            "text": [f"iteration {point['iteration']}" for point in row.curve],
        }
        for row in rows
        if row.curve
    ]
    split = next((r.error_split for r in rows if r.error_split), None)
    where = "the external test set" if split == "external" else "each variant's test split"
    return figure_spec(
        f"Learning curves: force RMSE on {where}",
        data,
        xaxis={"title": {"text": "CP2K labels spent"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "force RMSE (meV/Å)"}, "rangemode": "tozero"},
    )


def contacts_figure(rows: list[VariantRow], seeds: int) -> dict[str, Any] | None:
    """Li⁺–Li⁺ contact frequency of each variant's latest validation MD (None: none ran)."""
    measured = [r for r in rows if r.metrics["li_li_contact_fraction"] is not None]
    if not measured:
        return None
    data = [
        {
            "type": "bar",
            "x": [_name(r, seeds) for r in measured],
            "y": [r.metrics["li_li_contact_fraction"] for r in measured],
            "name": "frames with a Li–Li contact",
        }
    ]
    return figure_spec(
        "Li⁺–Li⁺ contacts in production MD",
        data,
        yaxis={"title": {"text": "fraction of frames"}, "rangemode": "tozero"},
    )
