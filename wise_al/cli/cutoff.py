"""``wise-al converge-cutoff``: how a frame's label changes with the plane-wave cutoff."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from wise_al.cli.explore import JsonOpt, SpecOpt, read_frames
from wise_al.cli.label import labelling_spec
from wise_al.cli.output import console, print_json
from wise_al.cp2k.convergence import cutoff_scan
from wise_al.cp2k.label import make_labeller
from wise_al.errors import WiseAlError
from wise_al.settings import Cp2kSettings


def _cutoffs(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise WiseAlError(f"--cutoffs: {text!r} is not a comma-separated list of Ry") from None
    if any(not 50 <= v <= 3000 for v in values):
        raise WiseAlError("--cutoffs: each cutoff must lie between 50 and 3000 Ry")
    return values


def converge_cutoff(
    structure: Annotated[Path, typer.Argument(help="a frame (any format ase reads)")],
    cutoffs: Annotated[str, typer.Option(help="CUTOFF values in Ry, comma-separated")] = (
        "400,600,800,1000,1200"
    ),
    index: Annotated[int, typer.Option(help="which frame of the file")] = 0,
    functional: Annotated[str | None, typer.Option(help="PBE | revPBE | BLYP | r2SCAN")] = None,
    dispersion: Annotated[str | None, typer.Option(help="none | d3 | d3bj")] = None,
    spec: SpecOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Label one frame at each cutoff; print the energy, force and stress change per step."""
    frames = read_frames(structure)
    if not -len(frames) <= index < len(frames):
        raise WiseAlError(f"--index: {structure} holds {len(frames)} frames")
    level = labelling_spec(spec, method="dft", functional=functional, dispersion=dispersion)
    settings = Cp2kSettings()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=json_) as bar:
        task = bar.add_task("cutoff scan", total=None)
        steps = cutoff_scan(
            level,
            frames[index],
            _cutoffs(cutoffs),
            lambda s: make_labeller(settings, s, reuse_wfn=False),
            on_step=lambda c: bar.update(task, description=f"labelling at {c:g} Ry"),
        )
    if json_:
        print_json([asdict(step) for step in steps])
        return
    table = Table(
        "CUTOFF (Ry)", "E (eV/atom)", "ΔE (meV/atom)", "max ΔF (meV/Å)", "max Δσ (GPa)", "wall s",
        title=f"{level.functional} REL_CUTOFF {level.rel_cutoff_Ry:g} Ry: change from the "
        "previous cutoff",
    )  # fmt: skip
    for step in steps:
        table.add_row(
            f"{step.cutoff_Ry:g}",
            f"{step.energy_eV_per_atom:.6f}",
            *(
                "–" if v is None else f"{v:.3g}"
                for v in (
                    step.delta_energy_meV_per_atom,
                    step.max_delta_force_meV_per_A,
                    step.max_delta_stress_GPa,
                )
            ),
            f"{step.wall_time_s:.1f}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command(name="converge-cutoff")(converge_cutoff)
