"""``wise-al dataset``: check, confirm and upload labelled data or starting structures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from ase import Atoms
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cli.campaigns import ApiOpt, TokenOpt, make_client
from wise_al.cli.explore import JsonOpt, read_frames
from wise_al.cli.label import labelling_spec
from wise_al.cli.output import console, print_json
from wise_al.datasets.check import DatasetSummary, check_dataset
from wise_al.errors import WiseAlError
from wise_al.systems.levels import describe_level, sha256_of

app = typer.Typer(help="Upload labelled data (AIMD, ...) or starting structures.")

KindOpt = Annotated[str, typer.Option("--kind", help="labelled | structures")]
LevelSpecOpt = Annotated[
    Path | None,
    typer.Option("--spec", help="a campaign spec whose labelling section made the labels"),
]
MethodOpt = Annotated[str | None, typer.Option(help="xtb | dft (the labels' CP2K method)")]
FunctionalOpt = Annotated[str | None, typer.Option(help="PBE | revPBE | BLYP | r2SCAN")]
DispersionOpt = Annotated[str | None, typer.Option(help="none | d3 | d3bj")]
LevelJsonOpt = Annotated[
    Path | None,
    typer.Option("--level-json", help="a level record (JSON) for labels not made by CP2K here"),
]
ConfirmOpt = Annotated[
    int, typer.Option("--confirm", min=0, help="re-label this many frames with CP2K and compare")
]


def _declared(
    path: Path,
    kind: str,
    spec: Path | None,
    method: str | None,
    functional: str | None,
    dispersion: str | None,
    level_json: Path | None,
) -> tuple[dict[str, Any] | None, LabellingSpec | None]:
    """The level record (and CP2K labelling section) the labels are declared at."""
    if kind == "structures":
        return None, None
    if level_json is not None:
        try:
            return json.loads(level_json.read_text()), None
        except (OSError, ValueError) as exc:
            raise WiseAlError(f"--level-json: {exc}") from None
    if spec is None and method is None:
        raise WiseAlError(
            "labelled data needs its level of theory: --spec / --method (CP2K here) or "
            "--level-json (a level record)"
        )
    from wise_al.cp2k.installation import detect
    from wise_al.cp2k.level import level_of_theory
    from wise_al.settings import Cp2kSettings

    labelling = labelling_spec(spec, method=method, functional=functional, dispersion=dispersion)
    settings = Cp2kSettings()
    cp2k = detect(settings.cp2k_binary, settings.cp2k_cache_dir())
    elements = {s for atoms in read_frames(path) for s in atoms.get_chemical_symbols()}
    return level_of_theory(labelling, elements, cp2k), labelling


def _confirm(path: Path, labelling: LabellingSpec | None, count: int, quiet: bool) -> Any:
    if count == 0:
        return None
    if labelling is None:
        raise WiseAlError("--confirm needs the CP2K level (--spec or --method) to re-label at")
    from wise_al.cp2k.label import make_labeller
    from wise_al.datasets.confirm import confirm_level
    from wise_al.settings import Cp2kSettings

    labeller = make_labeller(Cp2kSettings(), labelling)

    def relabel(atoms: Atoms) -> tuple[float, np.ndarray] | str:
        result = labeller.label(atoms)
        if not result.ok or result.energy_eV is None:
            return f"{result.failure}: {result.detail or ''}".strip(": ")
        return result.energy_eV, np.asarray(result.forces_eV_per_A)

    frames = read_frames(path)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, disable=quiet) as bar:
        task = bar.add_task("re-labelling with CP2K", total=min(count, len(frames)))
        confirmation = confirm_level(frames, relabel, count, on_frame=lambda _: bar.advance(task))
    return confirmation.model_dump()


def _table(summary: DatasetSummary, level: dict[str, Any] | None) -> Table:
    table = Table(show_header=False)
    table.add_row("frames", str(summary.frames))
    table.add_row("atoms per frame", f"{summary.atoms_min}-{summary.atoms_max}")
    table.add_row("elements", " ".join(summary.elements))
    table.add_row("periodic frames", str(summary.periodic_frames))
    if level is not None:
        table.add_row("level of theory", f"{describe_level(level)} ({sha256_of(level)[:12]})")
        lo, hi = summary.energy_per_atom_eV
        table.add_row("energy per atom (eV)", f"{lo:.4f} to {hi:.4f}")
        table.add_row("largest force (eV/Å)", f"{summary.max_force_eV_per_A:.3f}")
        table.add_row("frames with stress", str(summary.stress_frames))
    return table


@app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="extxyz file")],
    kind: KindOpt = "labelled",
    spec: LevelSpecOpt = None,
    method: MethodOpt = None,
    functional: FunctionalOpt = None,
    dispersion: DispersionOpt = None,
    level_json: LevelJsonOpt = None,
    confirm: ConfirmOpt = 0,
    json_: JsonOpt = False,
) -> None:
    """Check a file as an upload would, without a server: exit 1 naming frame and field."""
    if kind not in ("labelled", "structures"):
        raise WiseAlError("--kind: labelled or structures")
    level, labelling = _declared(path, kind, spec, method, functional, dispersion, level_json)
    summary = check_dataset(path, kind, sha256_of(level) if level else None)  # type: ignore[arg-type]
    confirmation = _confirm(path, labelling, confirm, json_)
    if json_:
        print_json(
            {"summary": summary.as_dict(), "level_of_theory": level, "confirmation": confirmation}
        )
    else:
        console.print(_table(summary, level))
        if confirmation:
            worst = max(confirmation["force_max_diff_eV_per_A"])
            n = len(confirmation["frames"])
            console.print(f"confirmed on {n} frames (forces within {worst:.2g} eV/Å)")


@app.command("upload")
def upload(
    path: Annotated[Path, typer.Argument(help="extxyz file")],
    name: Annotated[str, typer.Option("--name", help="how specs will name it")],
    kind: KindOpt = "labelled",
    spec: LevelSpecOpt = None,
    method: MethodOpt = None,
    functional: FunctionalOpt = None,
    dispersion: DispersionOpt = None,
    level_json: LevelJsonOpt = None,
    confirm: ConfirmOpt = 0,
    description: Annotated[str, typer.Option(help="free text kept with it")] = "",
    api: ApiOpt = None,
    token: TokenOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Upload a file: the server checks every frame and refuses it naming frame and field."""
    if not path.is_file():
        raise WiseAlError(f"{path}: no such file")
    level, labelling = _declared(path, kind, spec, method, functional, dispersion, level_json)
    confirmation = _confirm(path, labelling, confirm, json_)
    metadata = {
        "name": name,
        "kind": kind,
        "description": description,
        "level_of_theory": level,
        "labelling": labelling.model_dump() if labelling is not None else None,
        "confirmation": confirmation,
    }
    with make_client(api, token) as client:
        row = client.upload_dataset(path, metadata)
    if json_:
        print_json(row)
    else:
        console.print(
            f"dataset [bold]{row['name']}[/] ({row['id']}): {row['summary']['frames']} frames, "
            f"sha256 {row['sha256'][:12]}"
        )


@app.command("list")
def list_(api: ApiOpt = None, json_: JsonOpt = False) -> None:
    """Uploaded datasets, newest first."""
    with make_client(api) as client:
        page = client.list_datasets()
    if json_:
        print_json(page)
        return
    table = Table(title=f"{page['total']} datasets")
    for column in ("id", "name", "kind", "frames", "elements", "level", "sha256"):
        table.add_column(column)
    for d in page["items"]:
        level = describe_level(d["level_of_theory"]) if d["level_of_theory"] else "-"
        s = d["summary"]
        table.add_row(
            str(d["id"]), d["name"], d["kind"], str(s.get("frames")),
            " ".join(s.get("elements", [])), level, d["sha256"][:12],
        )  # fmt: skip
    console.print(table)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dataset")
