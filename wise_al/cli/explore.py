"""Exploration tools on files: build a cell, flag frames, committee deviation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from ase import Atoms
from ase.io import read, write
from rich.progress import Progress

from wise_al.campaign_spec.exploration import FlagsSpec, UncertaintySpec
from wise_al.campaign_spec.io import load_spec
from wise_al.cli.output import console, print_json
from wise_al.errors import WiseAlError
from wise_al.systems.cells import BENCHMARK_CELLS, build_benchmark_cell, build_wise_cell
from wise_al.systems.species import DENSITY_21M_G_PER_CM3
from wise_al.uncertainty import classify_deviation

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]
SpecOpt = Annotated[
    Path | None, typer.Option("--spec", help="take flag rules / trust window from a campaign spec")
]


def read_frames(path: Path) -> list[Atoms]:
    """Every frame of a structure file, with a readable error for anything else."""
    if not path.is_file():
        raise WiseAlError(f"{path}: no such file")
    try:
        frames = read(path, index=":")
    except Exception as exc:  # ase raises many types for unreadable files
        raise WiseAlError(f"{path}: not a structure file ase can read ({exc})") from None
    frames = frames if isinstance(frames, list) else [frames]
    if not frames:
        raise WiseAlError(f"{path}: holds no frame")
    return frames


def build(
    output: Annotated[Path, typer.Option("-o", "--output", help="extxyz file to write")],
    molality: Annotated[float, typer.Option(min=0.1, max=60)] = 21.0,
    pairs: Annotated[int, typer.Option(min=1, max=5000, help="LiTFSI ion pairs")] = 16,
    density: Annotated[float, typer.Option(min=0.1, max=10)] = DENSITY_21M_G_PER_CM3,
    benchmark: Annotated[
        str | None, typer.Option(help=f"a benchmark cell: {', '.join(BENCHMARK_CELLS)}")
    ] = None,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Pack a LiTFSI/water cell with packmol (side from the density)."""
    if benchmark:
        atoms = build_benchmark_cell(benchmark, seed=seed)
    else:
        atoms = build_wise_cell(molality, pairs, density_g_per_cm3=density, seed=seed)
    write(output, atoms, format="extxyz")
    side = atoms.cell.lengths()[0]
    console.print(f"{output}: {len(atoms)} atoms, {atoms.get_chemical_formula()}, {side:.4f} Å")


def flags(
    structure: Annotated[Path, typer.Argument(help="trajectory or structure file")],
    spec: SpecOpt = None,
    temperature_K: Annotated[
        float | None, typer.Option(help="thermostat target, for the temperature rule")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Physics flags of every frame; the first frame defines the intact molecules."""
    from wise_al.flags import FlagChecker

    frames = read_frames(structure)
    rules = load_spec(spec).flags if spec else FlagsSpec()
    checker = FlagChecker(rules, frames[0], temperature_K)
    report: list[dict[str, Any]] = [
        {"frame": k, "flags": [f.to_dict() for f in checker.check(atoms)]}
        for k, atoms in enumerate(frames)
    ]
    if json_:
        print_json(report)
        return
    flagged = [r for r in report if r["flags"]]
    console.print(f"{len(flagged)} of {len(frames)} frames flagged")
    for row in flagged:
        for flag in row["flags"]:
            console.print(
                f"  frame {row['frame']}: {flag['kind']}: {flag['message']}", markup=False
            )


def deviation(
    structure: Annotated[Path, typer.Argument(help="trajectory or structure file")],
    models: Annotated[list[Path], typer.Option("--models", help="committee model files")],
    spec: SpecOpt = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto")] = "auto",
    batch_size: Annotated[int, typer.Option(min=1, help="frames per committee pass")] = 8,
    json_: JsonOpt = False,
) -> None:
    """Per-frame committee force deviation (max, mean) and its class against the window."""
    from wise_al.mace.committee import Committee
    from wise_al.uncertainty import frame_deviation

    window = load_spec(spec).uncertainty if spec else UncertaintySpec()
    frames = read_frames(structure)
    committee = Committee(models, device=device)
    rows: list[dict[str, Any]] = []
    with Progress(console=console, transient=True, disable=json_) as progress:
        task = progress.add_task("committee", total=len(frames))
        for start in range(0, len(frames), batch_size):
            chunk = frames[start : start + batch_size]
            prediction = committee.predict(chunk)
            for k in range(len(chunk)):
                result = frame_deviation(
                    prediction.energies_eV[:, k], prediction.forces_eV_per_A[k]
                )
                rows.append(
                    {
                        "frame": start + k,
                        "max_deviation_eV_per_A": result.max_eV_per_A,
                        "mean_deviation_eV_per_A": result.mean_eV_per_A,
                        "energy_std_eV_per_atom": result.energy_std_eV_per_atom,
                        "class": str(
                            classify_deviation(
                                result.max_eV_per_A,
                                window.trust_lo_eV_per_A,
                                window.trust_hi_eV_per_A,
                            )
                        ),
                    }
                )
            progress.advance(task, len(chunk))
    if json_:
        print_json(rows)
        return
    for row in rows:
        console.print(
            f"frame {row['frame']:>5}  max {row['max_deviation_eV_per_A']:.3f}  "
            f"mean {row['mean_deviation_eV_per_A']:.3f} eV/Å  {row['class']}"
        )


def explore(
    models: Annotated[list[Path], typer.Option("--models", help="committee model files")],
    structure: Annotated[Path, typer.Option("--structure", help="starting structure")],
    steps: Annotated[int, typer.Option(min=1, help="MD steps")],
    output: Annotated[Path, typer.Option("-o", "--output", help="annotated extxyz trajectory")],
    temperature_K: Annotated[float, typer.Option(min=1, max=5000)] = 298.15,
    timestep_fs: Annotated[float, typer.Option(min=0.01, max=5)] = 0.5,
    save_interval: Annotated[int, typer.Option(min=1, help="save every N steps")] = 10,
    ensemble: Annotated[str, typer.Option(help="NVT or NPT")] = "NVT",
    seed: Annotated[int, typer.Option(min=0)] = 0,
    spec: SpecOpt = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto")] = "auto",
    json_: JsonOpt = False,
) -> None:
    """Run one committee-driven MD walker, saving frames with deviation and flags."""
    from wise_al.exploration.walker import WalkerParameters, run_walker
    from wise_al.flags import FlagChecker
    from wise_al.mace.committee import Committee

    if ensemble not in ("NVT", "NPT"):
        raise WiseAlError(f"--ensemble must be NVT or NPT, not {ensemble!r}")
    campaign = load_spec(spec) if spec else None
    window = campaign.uncertainty if campaign else UncertaintySpec()
    start = read_frames(structure)[-1]
    committee = Committee(models, device=device)
    settings = WalkerParameters(
        temperature_K=temperature_K,
        steps=steps,
        timestep_fs=timestep_fs,
        save_interval_steps=save_interval,
        ensemble=ensemble,  # type: ignore[arg-type]
        seed=seed,
        trust_lo_eV_per_A=window.trust_lo_eV_per_A,
        trust_hi_eV_per_A=window.trust_hi_eV_per_A,
    )
    checker = FlagChecker(campaign.flags if campaign else FlagsSpec(), start, temperature_K)
    with Progress(console=console, transient=True, disable=json_) as progress:
        task = progress.add_task(f"MD {len(start)} atoms", total=steps)
        result = run_walker(
            start,
            committee,
            settings,
            checker,
            output,
            on_step=lambda done: progress.update(task, completed=done),
        )
    classes = Counter(str(f.frame_class) for f in result.frames)
    summary = {
        "trajectory": str(output),
        "steps_done": result.steps_done,
        "frames": len(result.frames),
        "classes": dict(classes),
        "flagged_frames": sum(1 for f in result.frames if f.flags),
        "stop_reason": result.stop_reason,
    }
    if json_:
        print_json(summary)
        return
    console.print(
        f"{output}: {summary['frames']} frames over {result.steps_done} steps; "
        + ", ".join(f"{n} {c}" for c, n in sorted(classes.items()))
        + f"; {summary['flagged_frames']} flagged"
    )
    if result.stop_reason:
        console.print(f"stopped early at {result.stop_reason}", markup=False)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command()(build)
    app.command()(flags)
    app.command()(deviation)
    app.command()(explore)
