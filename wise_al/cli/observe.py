"""``wise-al observe``: the observables of a trajectory, beside experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from wise_al.cli.explore import JsonOpt, read_frames
from wise_al.cli.output import console, print_json
from wise_al.errors import WiseAlError


def observe(
    trajectory: Annotated[Path, typer.Argument(help="extxyz (or any ase-readable) trajectory")],
    frame_interval_fs: Annotated[
        float | None,
        typer.Option(min=1e-3, help="time between frames, for diffusion (omitted without it)"),
    ] = None,
    every: Annotated[int, typer.Option(min=1, help="use every n-th frame")] = 1,
    sq_window: Annotated[
        int,
        typer.Option(min=3, max=201, help="Savitzky–Golay window of S(q), in 0.02 Å⁻¹ bins (odd)"),
    ] = 5,
    plot: Annotated[
        Path | None, typer.Option(help="write S(q), g(r) and density figures (HTML) here")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Density, Li–O coordination by oxygen class, X-ray S(q) with its R-factor against
    experiment, Li–Li contacts and diffusion of a periodic trajectory."""
    from wise_al.observables.report import comparison_rows
    from wise_al.observables.report import observe as observe_frames

    if sq_window % 2 == 0:
        raise WiseAlError(f"--sq-window: {sq_window} is even; the window must be odd")
    frames = read_frames(trajectory)[::every]
    interval = None if frame_interval_fs is None else frame_interval_fs * every
    try:
        report = observe_frames(frames, frame_interval_fs=interval, sq_window=sq_window)
    except ValueError as exc:
        raise WiseAlError(f"{trajectory}: {exc}") from None
    written = []
    if plot is not None:
        from wise_al.observables.figures import write_figures

        written = write_figures(report, plot)
    if json_:
        print_json(report)
        return
    table = Table(title=f"{trajectory}: {report['frames']} frames of {report['atoms']} atoms")
    for column in ("observable", "this trajectory", "experiment"):
        table.add_column(column)
    for row in comparison_rows(report):
        table.add_row(*row)
    console.print(table)
    for path in written:
        console.print(f"figure: {path}")


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command()(observe)
