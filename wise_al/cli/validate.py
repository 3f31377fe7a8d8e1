"""``wise-al validate``: the benchmark protocol on a model, scored against experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from ase import Atoms
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from wise_al.campaign_spec.io import describe_errors
from wise_al.cli.explore import JsonOpt, read_frames
from wise_al.cli.output import console, print_json
from wise_al.errors import WiseAlError
from wise_al.systems.cells import BENCHMARK_CELLS, build_benchmark_cell

_GRADE_STYLE = {
    "good": "green",
    "fair": "yellow",
    "bad": "red",
    "not measurable": "dim",
    "not graded": "red",
}


def _cell(option: str, value: str) -> Atoms:
    """A benchmark cell by name, or the last frame of a structure file."""
    if value in BENCHMARK_CELLS:
        return build_benchmark_cell(value)
    path = Path(value)
    if not path.exists():
        known = ", ".join(BENCHMARK_CELLS)
        raise WiseAlError(f"{option}: {value!r} is neither a benchmark cell ({known}) nor a file")
    return read_frames(path)[-1]


def validate(
    models: Annotated[
        list[Path], typer.Option("--model", help="model file (repeat for a committee)")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="directory of the protocol's runs")
    ],
    nvt_cell: Annotated[
        str, typer.Option(help="structure cell: benchmark name or file")
    ] = "p64_w170",
    npt_cell: Annotated[str, typer.Option(help="density cell: benchmark name or file")] = "p16_w42",
    no_npt: Annotated[bool, typer.Option("--no-npt", help="skip the NPT density run")] = False,
    nvt_equilibration_ps: Annotated[float, typer.Option("--nvt-equilibration-ps")] = 20.0,
    nvt_production_ps: Annotated[float, typer.Option("--nvt-production-ps")] = 100.0,
    nvt_frames: Annotated[int, typer.Option(help="frames saved over the NVT production")] = 501,
    npt_ps: Annotated[float, typer.Option("--npt-ps")] = 200.0,
    npt_discard_ps: Annotated[
        float, typer.Option("--npt-discard-ps", help="NPT time left out of the density")
    ] = 50.0,
    npt_frames: Annotated[int, typer.Option(help="frames saved over the NPT run")] = 401,
    timestep_fs: Annotated[float, typer.Option("--timestep-fs")] = 0.5,
    temperature_K: Annotated[float, typer.Option("--temperature-K")] = 298.15,
    dispersion: Annotated[
        str, typer.Option(help="none, d3bj or d3zero: D3 added at MD time")
    ] = "none",
    functional: Annotated[str, typer.Option(help="the functional D3 is parametrised for")] = "pbe",
    device: Annotated[str, typer.Option(help="cpu, cuda or auto")] = "auto",
    plot: Annotated[
        Path | None, typer.Option(help="write S(q), g(r) and density figures here")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Minimise, equilibrate and run NVT on the structure cell, NPT on the density cell, then
    score density, S(q) and Li–O coordination against experiment (good / fair / bad).
    Run it again with the same options to resume."""
    from wise_al.md.protocol import ValidationProtocol, run_protocol
    from wise_al.observables.report import comparison_rows

    values: dict[str, Any] = {
        "temperature_K": temperature_K, "timestep_fs": timestep_fs,
        "nvt_equilibration_ps": nvt_equilibration_ps, "nvt_production_ps": nvt_production_ps,
        "nvt_frames": nvt_frames, "npt_ps": 0.0 if no_npt else npt_ps,
        "npt_discard_ps": 0.0 if no_npt else npt_discard_ps, "npt_frames": npt_frames,
        "dispersion": dispersion, "dispersion_functional": functional,
    }  # fmt: skip
    try:
        protocol = ValidationProtocol.model_validate(values)
    except ValidationError as exc:
        raise WiseAlError(describe_errors(exc.errors(include_url=False))) from None
    structure = _cell("--nvt-cell", nvt_cell)
    density = None if no_npt else _cell("--npt-cell", npt_cell)
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"), TimeRemainingColumn(),
        console=console, disable=json_,
    ) as progress:  # fmt: skip

        def report_progress(stage: str, step: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage.replace("_", " "), total=total)
            progress.update(tasks[stage], completed=step)

        result = run_protocol(
            models, structure, density, protocol, output, device=device,
            on_progress=report_progress,
        )  # fmt: skip
    if plot is not None:
        from wise_al.observables.figures import write_figures

        write_figures(result.report, plot)
    if json_:
        print_json({"scores": result.scores, "runs": result.directories, "report": result.report})
        return
    scores = Table(
        title="Scores: the benchmark's good / bad thresholds (CN errors against the r2SCAN "
        "references 2.4 water O, 1.9 TFSI O)"
    )
    for column in ("metric", "value", "good ≤", "bad ≥", "grade"):
        scores.add_column(column)
    for s in result.scores:
        style = _GRADE_STYLE[s["grade"]]
        value = "–" if s["value"] is None else f"{s['value']:.3g}"
        grade = f"[{style}]{s['grade']}"
        scores.add_row(s["metric"], value, f"{s['good']:g}", f"{s['bad']:g}", grade)
    console.print(scores)
    for s in result.scores:
        if s.get("reason"):
            console.print(f"{s['metric']}: {s['reason']}")
    observables = Table(title=f"Observables ({result.report['density_source']} for the density)")
    for column in ("observable", "this model", "experiment"):
        observables.add_column(column)
    for row in comparison_rows(result.report):
        observables.add_row(*row)
    console.print(observables)


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command()(validate)
