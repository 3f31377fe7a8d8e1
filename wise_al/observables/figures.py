"""Plotly figures of an observables report: S(q) over experiment, g(r), density against time.

The figures are plain plotly JSON, so the CLI writes them as HTML files and the dashboard
can hand the same JSON to plotly.js.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from wise_al.observables.reference import experimental_sq, references_21m

_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def sq_figure(report: dict[str, Any]) -> go.Figure:
    """S(q) of the trajectory over the experimental curve, with the R-factor in the title."""
    q_exp, s_exp = experimental_sq()
    figure = go.Figure(layout=_LAYOUT)
    figure.add_scatter(x=q_exp, y=s_exp, name="experiment (Zhang 2021)", line={"color": "black"})
    figure.add_scatter(x=report["sq_q_per_A"], y=report["sq"], name="this trajectory")
    r = report.get("sq_r_factor")
    title = "X-ray S(q)" + ("" if r is None else f": R = {r:.3f} (good < 0.02, bad > 0.21)")
    figure.update_layout(title=title, xaxis_title="q (1/Å)", yaxis_title="S(q)")
    return figure


def rdf_figure(report: dict[str, Any]) -> go.Figure:
    """Li–O (water O, TFSI O) and Li–Li g(r), with the coordination cutoff marked."""
    rdf = report["rdf"]
    figure = go.Figure(layout=_LAYOUT)
    for key, name in (("li_o_water", "Li–O water"), ("li_o_tfsi", "Li–O TFSI"), ("li_li", "Li–Li")):
        figure.add_scatter(x=rdf["r_A"], y=rdf[key], name=name)
    cutoff = references_21m()["li_o_coordination"]["r_cut_A"]
    figure.add_vline(x=cutoff, line_dash="dot", annotation_text=f"CN cutoff {cutoff} Å")
    figure.update_layout(title="Partial g(r)", xaxis_title="r (Å)", yaxis_title="g(r)")
    return figure


def density_figure(report: dict[str, Any]) -> go.Figure:
    """Density per frame and its running average against time, with experiment's line.

    The density may come from its own run (``density_time_ps``: the protocol's NPT run),
    else from the observed trajectory (``time_ps``)."""
    times = report.get("density_time_ps") or report.get("time_ps")
    x = times or list(range(len(report["density_series_g_per_cm3"])))
    figure = go.Figure(layout=_LAYOUT)
    figure.add_scatter(x=x, y=report["density_series_g_per_cm3"], name="per frame", opacity=0.5)
    figure.add_scatter(x=x, y=report["density_running_g_per_cm3"], name="running average")
    experiment = references_21m()["density_g_cm3"]["value"]
    figure.add_hline(y=experiment, line_dash="dash", annotation_text=f"experiment {experiment}")
    axis = "time (ps)" if times else "frame"
    figure.update_layout(title="Density", xaxis_title=axis, yaxis_title="density (g/cm³)")
    return figure


def convergence_figure(report: dict[str, Any]) -> go.Figure:
    """Running averages of the Li–O coordination against time, beside experiment's values:
    flat by the end of the run when it was long enough."""
    running = report["cn_li_o_running"]
    x = report.get("time_ps") or list(range(len(running["total"])))
    experiment = references_21m()["li_o_coordination"]["experiment"]
    figure = go.Figure(layout=_LAYOUT)
    for key, name, colour in (
        ("water", "water O", "#1f77b4"),
        ("tfsi", "TFSI O", "#d62728"),
        ("total", "total", "#2ca02c"),
    ):
        figure.add_scatter(x=x, y=running[key], name=f"CN {name}", line={"color": colour})
        figure.add_hline(y=experiment[key], line_dash="dash", line_color=colour, opacity=0.6)
    axis = "time (ps)" if report.get("time_ps") else "frame"
    figure.update_layout(
        title="Convergence: running Li–O coordination (dashed: experiment)",
        xaxis_title=axis,
        yaxis_title="coordination number",
    )
    return figure


def report_figures(report: dict[str, Any]) -> dict[str, go.Figure]:
    """Every figure the report has data for, by file stem."""
    figures = {"sq": sq_figure(report), "density": density_figure(report)}
    if "rdf" in report:
        figures["rdf"] = rdf_figure(report)
    if "cn_li_o_running" in report:
        figures["convergence"] = convergence_figure(report)
    return figures


def write_figures(report: dict[str, Any], directory: Path) -> list[Path]:
    """Write the figures as HTML files in ``directory``, with plotly.js beside them (offline)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, figure in report_figures(report).items():
        path = directory / f"{stem}.html"
        figure.write_html(path, include_plotlyjs="directory", full_html=True)
        paths.append(path)
    return paths
