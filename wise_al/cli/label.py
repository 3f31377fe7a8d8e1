"""``wise-al label``: CP2K reference labels for the frames of a file."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from ase import Atoms
from ase.io import write
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wise_al.campaign_spec.io import load_spec
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cli.explore import JsonOpt, SpecOpt, read_frames
from wise_al.cli.output import console, print_json
from wise_al.cp2k.label import LabelResult, make_labeller
from wise_al.errors import WiseAlError
from wise_al.settings import Cp2kSettings
from wise_al.systems.labelled import labelled_frame

#: Exit code when some frames got no label (the labelled ones are still written).
EXIT_SOME_FAILED = 3


def labelling_spec(spec: Path | None, **fields: Any) -> LabellingSpec:
    """The campaign's labelling section (or the defaults), with command-line fields on top."""
    base = load_spec(spec).labelling.model_dump() if spec else {}
    given = {k: v for k, v in fields.items() if v is not None}
    if "method" not in given and {"functional", "dispersion"} & given.keys():
        given["method"] = "dft"  # naming a functional means DFT
    if given.get("method") == "xtb":
        base = {k: v for k, v in base.items() if k not in ("functional", "dispersion")}
    try:
        return LabellingSpec.model_validate(base | given)
    except ValueError as exc:
        errors = exc.errors() if hasattr(exc, "errors") else []
        first = errors[0] if errors else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first["loc"]) or "labelling"
        raise WiseAlError(f"labelling.{where}: {first['msg']}") from None


def labelled_atoms(atoms: Atoms, result: LabelResult) -> Atoms:
    """A copy of ``atoms`` carrying its label under mace's ``REF_`` keys, with provenance."""
    assert result.energy_eV is not None
    out = labelled_frame(
        atoms,
        result.energy_eV,
        result.forces_eV_per_A,
        result.stress_eV_per_A3,
        result.level_sha256,
    )
    out.info["REF_input_sha256"] = result.input_sha256
    out.info["REF_scf_steps"] = result.scf_steps
    return out


def summary(results: list[LabelResult]) -> dict[str, Any]:
    """Counts of labels and failures, rescues, SCF steps and time of one labelling run."""
    saved = [r.scf_steps_saved for r in results if r.scf_steps_saved is not None]
    return {
        "frames": len(results),
        "labelled": sum(r.ok for r in results),
        "failed": dict(Counter(r.failure for r in results if r.failure)),
        "rescued": sum(r.ok and len(r.attempts) > 1 for r in results),
        "scf_steps": sum(r.total_scf_steps for r in results),
        "scf_steps_saved_by_wfn_reuse": sum(saved),
        "wall_time_s": round(sum(r.wall_time_s for r in results), 2),
        "levels_of_theory": {r.level_sha256: r.level_of_theory for r in results},
    }


def _summary_table(report: dict[str, Any], results: list[LabelResult]) -> Table:
    table = Table(title=f"{report['labelled']} of {report['frames']} frames labelled")
    for column in ("frame", "result", "attempts", "SCF steps", "wall s", "detail"):
        table.add_column(column)
    for k, r in enumerate(results):
        if r.ok and len(r.attempts) == 1:
            continue  # only what needs a look: failures and rescues
        shown = "[red]" + str(r.failure) if r.failure else "[yellow]rescued"
        rungs = " → ".join(a.rung for a in r.attempts)
        steps = str(r.total_scf_steps)
        table.add_row(str(k), shown, rungs, steps, f"{r.wall_time_s:.1f}", r.detail or r.directory)
    return table


def label(
    structure: Annotated[Path, typer.Argument(help="frames to label (any format ase reads)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="extxyz file to write")],
    method: Annotated[str | None, typer.Option(help="xtb | dft")] = None,
    functional: Annotated[str | None, typer.Option(help="PBE | revPBE | BLYP | r2SCAN")] = None,
    dispersion: Annotated[str | None, typer.Option(help="none | d3 | d3bj")] = None,
    cutoff_Ry: Annotated[float | None, typer.Option("--cutoff", help="CUTOFF (Ry)")] = None,
    time_limit_s: Annotated[int | None, typer.Option("--time-limit", help="per run (s)")] = None,
    spec: SpecOpt = None,
    reuse_wfn: Annotated[
        bool, typer.Option(help="start from the nearest converged wavefunction")
    ] = True,
    json_: JsonOpt = False,
) -> None:
    """Label frames with CP2K; failed frames are reported and never written.

    Exits 3 when some frames got no label (the others are written).
    """
    level = labelling_spec(
        spec,
        method=method,
        functional=functional,
        dispersion=dispersion,
        cutoff_Ry=cutoff_Ry,
        time_limit_s=time_limit_s,
    )
    frames = read_frames(structure)
    labeller = make_labeller(Cp2kSettings(), level, reuse_wfn=reuse_wfn)
    results: list[LabelResult] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, disable=json_) as bar:
        task = bar.add_task("labelling", total=len(frames))
        for k, atoms in enumerate(frames):
            rung = lambda name, k=k: bar.update(task, description=f"frame {k}: {name}")  # noqa: E731
            results.append(labeller.label(atoms, on_attempt=rung))
            bar.advance(task)
    labelled = [labelled_atoms(a, r) for a, r in zip(frames, results, strict=True) if r.ok]
    write(output, labelled, format="extxyz")
    report = summary(results)
    sidecar = output.with_name(output.name + ".labels.json")
    bulky = ("forces_eV_per_A", "stress_eV_per_A3")  # in the extxyz already
    results_json = [{k: v for k, v in asdict(r).items() if k not in bulky} for r in results]
    sidecar.write_text(json.dumps({"summary": report, "frames": results_json}, indent=1))
    if json_:
        print_json(report)
    else:
        if report["failed"] or report["rescued"]:
            console.print(_summary_table(report, results))
        console.print(
            f"{output}: {report['labelled']} of {report['frames']} frames labelled, "
            f"{report['rescued']} rescued, {report['scf_steps']} SCF steps "
            f"({report['scf_steps_saved_by_wfn_reuse']} saved by wavefunction reuse), "
            f"{report['wall_time_s']:.1f} s; details in {sidecar}"
        )
    if report["labelled"] < report["frames"]:
        raise typer.Exit(EXIT_SOME_FAILED)


def register(app: typer.Typer) -> None:
    app.command()(label)
