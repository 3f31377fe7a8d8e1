"""``wise-al md``: a production MD run that checkpoints and resumes where it stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from ase import Atoms
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from wise_al.atomic_files import write_structure_atomic
from wise_al.campaign_spec.io import describe_errors
from wise_al.cli.explore import JsonOpt, read_frames
from wise_al.cli.output import console, print_json
from wise_al.errors import WiseAlError
from wise_al.systems.cells import BENCHMARK_CELLS, build_benchmark_cell

#: The start structure, kept in the run's directory so a resume needs no --start.
START = "start.extxyz"


def _start(
    directory: Path, start: Path | None, cell: str | None, continue_from: Path | None
) -> Atoms:
    given = [
        name
        for name, v in (("--start", start), ("--cell", cell), ("--continue-from", continue_from))
        if v
    ]
    if len(given) > 1:
        raise WiseAlError(f"{' and '.join(given)}: give one start, not several")
    kept = directory / START
    if not given:
        if not kept.exists():
            raise WiseAlError("give a start: --start FILE, --cell NAME or --continue-from DIR")
        return read_frames(kept)[-1]
    if continue_from is not None:
        from wise_al.md.production import last_state

        atoms = last_state(continue_from)
    elif cell is not None:
        if cell not in BENCHMARK_CELLS:
            raise WiseAlError(
                f"--cell: unknown cell {cell!r} (known: {', '.join(BENCHMARK_CELLS)})"
            )
        atoms = build_benchmark_cell(cell)
    else:
        assert start is not None
        atoms = read_frames(start)[-1]
    if kept.exists():
        before = read_frames(kept)[-1]
        # the kept copy has extxyz's 8 decimals: the same start agrees to that precision
        same = (
            len(before) == len(atoms)
            and (before.numbers == atoms.numbers).all()
            and np.allclose(before.positions, atoms.positions, atol=1e-6)
            and np.allclose(before.cell, atoms.cell, atol=1e-6)
        )
        if not same:
            raise WiseAlError(f"{directory} holds a run from another start: use a new directory")
        return before  # the kept digits, which the run's start hash was taken from
    directory.mkdir(parents=True, exist_ok=True)
    return write_structure_atomic(kept, atoms)


def md(
    models: Annotated[
        list[Path], typer.Option("--model", help="model file (repeat for a committee)")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="the run's directory")],
    start: Annotated[Path | None, typer.Option(help="start structure (last frame is used)")] = None,
    cell: Annotated[
        str | None, typer.Option(help=f"a packed benchmark cell: {', '.join(BENCHMARK_CELLS)}")
    ] = None,
    continue_from: Annotated[
        Path | None, typer.Option(help="a run's directory: start from its last state")
    ] = None,
    ensemble: Annotated[str, typer.Option(help="NVT (Nosé–Hoover chain) or NPT (MTK)")] = "NVT",
    steps: Annotated[int, typer.Option(help="total MD steps of the run")] = 1000,
    temperature_K: Annotated[float, typer.Option("--temperature-K")] = 298.15,
    pressure_bar: Annotated[float, typer.Option("--pressure-bar")] = 1.01325,
    timestep_fs: Annotated[float, typer.Option("--timestep-fs")] = 0.5,
    save_every: Annotated[int, typer.Option(help="save a frame every N steps")] = 10,
    checkpoint_every: Annotated[int, typer.Option(help="checkpoint every N steps")] = 100,
    driver: Annotated[
        str, typer.Option(help="member (one model per step) or committee_mean")
    ] = "member",
    dispersion: Annotated[
        str, typer.Option(help="none, d3bj or d3zero: D3 added at MD time")
    ] = "none",
    functional: Annotated[str, typer.Option(help="the functional D3 is parametrised for")] = "pbe",
    device: Annotated[str, typer.Option(help="cpu, cuda or auto")] = "auto",
    dtype: Annotated[str, typer.Option(help="float64 or float32")] = "float64",
    seed: Annotated[int, typer.Option(help="seed of the initial velocities")] = 0,
    json_: JsonOpt = False,
) -> None:
    """Production MD with one model or a committee; run it again to resume or extend."""
    from wise_al.md.parameters import ProductionParameters

    values: dict[str, Any] = {
        "ensemble": ensemble, "steps": steps, "temperature_K": temperature_K,
        "pressure_bar": pressure_bar, "timestep_fs": timestep_fs,
        "save_interval_steps": save_every, "checkpoint_interval_steps": checkpoint_every,
        "driver": driver, "dispersion": dispersion, "dispersion_functional": functional,
        "seed": seed,
    }  # fmt: skip
    try:
        parameters = ProductionParameters.model_validate(values)
    except ValidationError as exc:
        raise WiseAlError(describe_errors(exc.errors(include_url=False))) from None
    if dtype not in ("float64", "float32"):
        raise WiseAlError(f"--dtype: {dtype!r} is not float64 or float32")
    atoms = _start(output, start, cell, continue_from)
    from wise_al.md.run import run_with_models

    with Progress(
        TextColumn("[bold]MD"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=json_,
    ) as progress:  # fmt: skip
        task = progress.add_task("md", total=parameters.steps)
        result = run_with_models(
            atoms, models, parameters, output, device=device, dtype=dtype,
            on_progress=lambda step: progress.update(task, completed=step),
        )  # fmt: skip
    summary = {
        "directory": str(result.directory),
        "trajectory": str(result.trajectory),
        "steps_done": result.steps_done,
        "frames": result.frames,
        "resumed_from_step": result.resumed_from_step,
    }
    if json_:
        print_json(summary)
        return
    resumed = f", resumed at step {result.resumed_from_step}" if result.resumed_from_step else ""
    console.print(
        f"{result.trajectory}: {result.frames} frames, {result.steps_done} steps{resumed}"
    )


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command()(md)
