"""``wise-al reference-md``: CP2K's own MD at several temperatures, the reference to score on.

The stand-in for a study's AIMD: frames labelled by CP2K along its own trajectory, at the
level of theory of the campaign's labels, so they serve as the external test set
(``model.training.external_test_set``) and as the truth for Li⁺–Li⁺ contacts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from ase import Atoms
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wise_al.atomic_files import write_text_atomic
from wise_al.campaign_spec.io import load_spec
from wise_al.cli.explore import JsonOpt, read_frames
from wise_al.cli.label import labelling_spec
from wise_al.cli.output import console, print_json
from wise_al.errors import WiseAlError
from wise_al.systems.structures import extxyz_text


def _start(structure: Path | None, spec: Path | None, seed: int) -> Atoms:
    if structure is not None:
        return read_frames(structure)[-1]
    if spec is None:
        raise WiseAlError("give a start: a STRUCTURE file, or --spec to pack its system's cell")
    from wise_al.systems.cells import pack_cell

    system = load_spec(spec).system
    side = system.cell_A[0] if system.cell_A else None
    return pack_cell(
        system.molecules(), density_g_per_cm3=system.density_g_per_cm3, side_A=side, seed=seed
    )


def build_reference(
    output: Path,
    labelling: Any,
    start: Atoms,
    temperatures: list[float],
    md: dict[str, Any],
    on_run: Callable[[float], None] | None = None,
    relax_steps: int = 0,
) -> dict[str, Any]:
    """Run CP2K's MD at each temperature from ``start`` and write the labelled frames.

    With ``relax_steps`` the start is first relaxed by CP2K (LBFGS, at most that many steps),
    once for every temperature. ``md`` holds the fields of
    :class:`~wise_al.cp2k.md.ReferenceMdParameters` other than the temperature and seed;
    ``on_run`` hears each temperature as its run starts (0 for the relaxation). The frames
    go to ``output`` (extxyz), the report beside it (``<output>.json``) and is returned.
    """
    from wise_al.cp2k.label import make_labeller
    from wise_al.cp2k.md import ReferenceMdParameters, relaxation_path, run_reference_md
    from wise_al.observables.contacts import li_li_contacts
    from wise_al.settings import Cp2kSettings

    # the labeller's own CP2K build and launch profile: reference frames and labels agree
    labeller = make_labeller(Cp2kSettings(), labelling, reuse_wfn=False)
    cp2k, profile = labeller.cp2k, labeller.profile
    work = output.with_name(output.stem + "-runs")
    frames: list[Atoms] = []
    runs: list[dict[str, Any]] = []
    level: dict[str, Any] = {}
    seed = int(md.get("seed", 0))
    if relax_steps:
        if on_run is not None:
            on_run(0.0)  # 0 K: the relaxation
        start = relaxation_path(labelling, start, relax_steps, cp2k, profile, work / "relax")[-1]
    for k, temperature in enumerate(temperatures):
        if on_run is not None:
            on_run(temperature)
        parameters = ReferenceMdParameters(temperature_K=temperature, **{**md, "seed": seed + k})
        run = run_reference_md(
            labelling, start, parameters, cp2k, profile, work / f"{temperature:g}K"
        )
        frames += run.frames
        level = run.level_of_theory
        runs.append(
            {
                "temperature_K": temperature,
                "mean_temperature_K": round(run.mean_temperature_K, 1),
                "frames": len(run.frames),
                "li_li_contact_frame_fraction": li_li_contacts(run.frames).frame_fraction,
                "wall_time_s": round(run.wall_time_s, 1),
            }
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output, extxyz_text(frames))
    report = {
        "output": str(output),
        "frames": len(frames),
        "runs": runs,
        "parameters": {**md, "relax_steps": relax_steps},
        "level_of_theory": level,
    }
    write_text_atomic(output.with_name(output.name + ".json"), json.dumps(report, indent=1))
    return report


def reference_md(
    output: Annotated[Path, typer.Option("-o", "--output", help="extxyz of labelled frames")],
    structure: Annotated[
        Path | None, typer.Argument(help="start structure (default: pack --spec's cell)")
    ] = None,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="campaign spec: its labelling and system")
    ] = None,
    temperatures: Annotated[
        list[float] | None, typer.Option("--temperature", "-T", help="K; repeat for several")
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="kept MD steps per temperature")] = 200,
    equilibration_steps: Annotated[int, typer.Option(min=0, help="run first, not kept")] = 50,
    save_every: Annotated[int, typer.Option(min=1, help="keep a frame every N steps")] = 10,
    relax_steps: Annotated[
        int, typer.Option(min=0, help="relax the start with CP2K first (0: as given)")
    ] = 100,
    timestep_fs: Annotated[float, typer.Option(min=0.05, max=5.0)] = 0.5,
    thermostat_fs: Annotated[
        float, typer.Option(min=1.0, help="CSVR time constant: short runs need a short one")
    ] = 50.0,
    method: Annotated[str | None, typer.Option(help="xtb | dft (default: the spec's)")] = None,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    json_: JsonOpt = False,
) -> None:
    """NVT MD by CP2K itself (CSVR thermostat), one run per temperature, frames labelled."""
    if save_every > steps:
        raise WiseAlError(f"--save-every ({save_every}) exceeds --steps ({steps}): no frame kept")
    labelling = labelling_spec(spec, method=method)
    start = _start(structure, spec, seed)
    temperatures = temperatures or [300.0]
    md = {
        "steps": steps,
        "equilibration_steps": equilibration_steps,
        "save_every": save_every,
        "timestep_fs": timestep_fs,
        "thermostat_fs": thermostat_fs,
        "seed": seed,
    }
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, disable=json_) as bar:
        task = bar.add_task("CP2K MD", total=len(temperatures))

        def started(temperature: float) -> None:
            if bar.tasks[0].description.startswith("CP2K MD at"):
                bar.advance(task)
            what = f"CP2K MD at {temperature:g} K" if temperature else "CP2K relaxing the start"
            bar.update(task, description=what)

        report = build_reference(
            output, labelling, start, temperatures, md, on_run=started, relax_steps=relax_steps
        )
        bar.update(task, completed=len(temperatures))
    runs, frames = report["runs"], report["frames"]
    if json_:
        print_json(report)
        return
    table = Table(title=f"{output}: {frames} labelled frames")
    for column in ("T target (K)", "T mean (K)", "frames", "Li–Li contact frames", "wall s"):
        table.add_column(column)
    for r in runs:
        table.add_row(
            f"{r['temperature_K']:g}", f"{r['mean_temperature_K']:.0f}", str(r["frames"]),
            f"{r['li_li_contact_frame_fraction']:.1%}", f"{r['wall_time_s']:.0f}",
        )  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("reference-md")(reference_md)
