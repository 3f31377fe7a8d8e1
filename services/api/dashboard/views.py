"""What the pages draw: plotly figure specs and the 3D viewer's data, from database rows.

Pure functions of rows and the spec, so every figure is tested without a browser.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import numpy as np

from wise_al.db.models import Frame, FrameFlag
from wise_al.db.repositories.overview import IterationSummary, UnitSpan
from wise_al.systems.structures import structure_from_dict
from wise_al.uncertainty import DEVIATION_BIN_EDGES_EV_PER_A

FRAME_CLASSES = ("accurate", "candidate", "failed")
COLOURS = {"accurate": "#2a9d8f", "candidate": "#e9c46a", "failed": "#e76f51"}
LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 36, "b": 48},
    "height": 300,
    "legend": {"orientation": "h", "y": -0.25},
    "paper_bgcolor": "rgba(0,0,0,0)",
}


def figure_spec(title: str, data: list[dict[str, Any]], **layout: Any) -> dict[str, Any]:
    return {"data": data, "layout": {**LAYOUT, "title": {"text": title}, **layout}}


def diagonal_trace(low: float, high: float, name: str) -> dict[str, Any]:
    """The y = x line of a parity or calibration plot."""
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": [low, high],
        "y": [low, high],
        "line": {"color": "#888", "dash": "dash"},
    }


def naive_utc(moment: datetime) -> datetime:
    """UTC without tzinfo: databases hand back naive times, fresh rows aware ones."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def elapsed_s(start: datetime, end: datetime | None = None) -> float:
    """Seconds from ``start`` to ``end`` (or now)."""
    stop = naive_utc(end) if end else naive_utc(datetime.now(UTC))
    return (stop - naive_utc(start)).total_seconds()


def timeline_figure(spans: list[UnitSpan]) -> dict[str, Any]:
    """Gantt chart of the units of each iteration: when explore, label, train ... ran."""
    rows = [f"iteration {s.iteration_index} · {s.unit}" for s in spans]
    durations_ms = [elapsed_s(s.started_at, s.finished_at) * 1000 for s in spans]
    text = [
        f"{s.units} unit{'s' if s.units != 1 else ''}, {d / 1000:.0f} s"
        + (f", {s.failed} failed" if s.failed else "")
        + ("" if s.finished_at else ", running")
        for s, d in zip(spans, durations_ms, strict=True)
    ]
    return figure_spec(
        "Timeline",
        [
            {
                "type": "bar",
                "orientation": "h",
                "y": rows,
                "x": durations_ms,
                "base": [s.started_at.isoformat() for s in spans],
                "text": text,
                "textposition": "inside",
                "insidetextanchor": "start",
                "hoverinfo": "y+text",
                "marker": {"color": ["#e76f51" if s.failed else "#457b9d" for s in spans]},
            }
        ],
        xaxis={"type": "date"},
        yaxis={"autorange": "reversed", "automargin": True},
        height=max(220, 28 * len(spans) + 90),
    )


def ratios_figure(iterations: list[IterationSummary]) -> dict[str, Any]:
    """Accurate / candidate / failed share of saved frames per iteration (stacked)."""
    x = [it.iteration.index for it in iterations]
    counts = [it.iteration.metrics.get("exploration", {}) for it in iterations]
    totals = [sum(int(c.get(k, 0)) for k in FRAME_CLASSES) for c in counts]
    data = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": [
                int(c.get(name, 0)) / t if t else None for c, t in zip(counts, totals, strict=True)
            ],
            "marker": {"color": COLOURS[name]},
        }
        for name in FRAME_CLASSES
    ]
    return figure_spec(
        "Committee verdict on explored frames",
        data,
        barmode="stack",
        xaxis={"title": {"text": "iteration"}, "dtick": 1},
        yaxis={"title": {"text": "share of frames"}, "range": [0, 1], "tickformat": ".0%"},
    )


def learning_curve_figure(iterations: list[IterationSummary]) -> dict[str, Any]:
    """Held-out energy and force errors of each iteration's committee against labels used."""
    labels_used = np.cumsum([it.labels_done for it in iterations]).tolist()
    data = []
    for split, dash in (("valid", "solid"), ("test", "dot"), ("external", "dash")):
        for key, axis, unit in (
            ("forces_rmse_meV_per_A", "y", "force RMSE (meV/Å)"),
            ("energy_rmse_meV_per_atom", "y2", "energy RMSE (meV/atom)"),
        ):
            points = [
                (
                    it.iteration.index,
                    n,
                    it.iteration.metrics.get("evaluation", {}).get(f"{split}_{key}"),
                )
                for it, n in zip(iterations, labels_used, strict=True)
            ]
            points = [p for p in points if p[2] is not None]
            if points:
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines+markers",
                        "name": f"{unit.split(' (')[0]}, {split}",
                        "x": [p[1] for p in points],
                        "y": [p[2] for p in points],
                        "text": [f"iteration {p[0]}" for p in points],
                        "yaxis": axis,
                        "line": {"dash": dash},
                    }
                )
    return figure_spec(
        "Learning curve",
        data,
        xaxis={"title": {"text": "labels used"}},
        yaxis={"title": {"text": "force RMSE (meV/Å)"}, "rangemode": "tozero"},
        yaxis2={
            "title": {"text": "energy RMSE (meV/atom)"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
        },
    )


def histogram_figure(
    iterations: list[IterationSummary], trust_lo_eV_per_A: float, trust_hi_eV_per_A: float
) -> dict[str, Any]:
    """Max force deviation of every saved frame, per iteration, with the trust window shaded
    (on raw σ: the spec's window divided by the latest calibration's σ scale)."""
    edges = np.asarray(DEVIATION_BIN_EDGES_EV_PER_A)
    centres = np.sqrt(edges[:-1] * edges[1:]).tolist()
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"shape": "hvh"},
            "name": f"iteration {it.iteration.index}",
            "x": centres,
            "y": it.histogram,
        }
        for it in iterations
        if it.histogram
    ]
    window = {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": trust_lo_eV_per_A,
        "x1": trust_hi_eV_per_A,
        "y0": 0,
        "y1": 1,
        "fillcolor": COLOURS["candidate"],
        "opacity": 0.25,
        "line": {"width": 0},
        "layer": "below",
    }
    return figure_spec(
        "Committee force deviation (trust window shaded)",
        data,
        shapes=[window],
        xaxis={"type": "log", "title": {"text": "max σ_F (eV/Å)"}},
        yaxis={"title": {"text": "frames"}},
        annotations=[
            {
                "x": float(np.log10(np.sqrt(trust_lo_eV_per_A * trust_hi_eV_per_A))),
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": "candidates",
                "showarrow": False,
                "yanchor": "bottom",
            }
        ],
    )


def parity_figure(pairs: dict[str, Any], title: str) -> dict[str, Any]:
    """Predicted against labelled forces and energies, with the y = x line."""
    forces = pairs["forces_ref_eV_per_A"] + pairs["forces_pred_eV_per_A"]
    lo, hi = (min(forces), max(forces)) if forces else (0.0, 1.0)
    return figure_spec(
        title,
        [
            {
                "type": "scattergl",
                "mode": "markers",
                "name": "force components",
                "x": pairs["forces_ref_eV_per_A"],
                "y": pairs["forces_pred_eV_per_A"],
                "marker": {"size": 3, "opacity": 0.5},
            },
            diagonal_trace(lo, hi, "y = x"),
        ],
        xaxis={"title": {"text": f"CP2K force ({pairs['split']} labels, eV/Å)"}},
        yaxis={"title": {"text": "MACE force (eV/Å)"}, "scaleanchor": "x"},
        height=360,
    )


def _image_vector(
    vector_A: np.ndarray, cell_A: np.ndarray, pbc: np.ndarray, distance_A: float
) -> np.ndarray:
    """The periodic image of ``vector_A`` (up to two cells away) closest to ``distance_A``."""
    steps = [range(-2, 3) if periodic else range(1) for periodic in pbc]
    shifts = np.array(list(itertools.product(*steps)), dtype=float)
    images = vector_A + shifts @ cell_A
    best: np.ndarray = images[np.argmin(np.abs(np.linalg.norm(images, axis=1) - distance_A))]
    return best


def viewer_data(frame: Frame, flags: list[FrameFlag]) -> dict[str, Any]:
    """Atoms, cell, per-atom deviation and flagged contacts for the 3D viewer.

    A contact is drawn from one atom to the periodic image of the other that the flag
    measured (the nearest one unless the limit reaches past it), so a pair split by the cell
    boundary shows the flag's distance.
    """
    atoms = structure_from_dict(frame.structure)
    positions, cell, symbols = atoms.positions, atoms.cell.array, atoms.get_chemical_symbols()
    contacts = []
    for flag in flags:
        if len(flag.atoms) != 2:
            continue
        a, b = (int(i) for i in flag.atoms)
        vector = _image_vector(positions[b] - positions[a], cell, atoms.pbc, flag.value)
        distance = float(np.linalg.norm(vector))
        contacts.append(
            {
                "a": a,
                "b": b,
                "from": positions[a].tolist(),
                "to": (positions[a] + vector).tolist(),
                "distance_A": float(distance),
                "label": f"{symbols[a]}–{symbols[b]} {float(distance):.2f} Å",
            }
        )
    return {
        "symbols": symbols,
        "positions": positions.tolist(),
        "cell": cell.tolist() if cell.any() else None,
        "deviation": frame.atom_deviations_eV_per_A,
        "flagged": sorted({int(i) for f in flags for i in f.atoms}),
        "contacts": contacts,
    }
