"""``wise-al study``: submit a study, start it, and compare its variants."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from wise_al.campaign_spec.io import load_study
from wise_al.campaign_spec.study import expand_study
from wise_al.cli.campaigns import ApiOpt, JsonOpt, TokenOpt, make_client
from wise_al.cli.output import console, print_json
from wise_al.observables.registry import METRICS

app = typer.Typer(help="Compare variants of one campaign: strategies, selection, dispersion.")
StudyArg = Annotated[int, typer.Argument(help="study id")]


def _number(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def study_table(study: dict[str, Any]) -> Table:
    """The variants side by side, as the study page shows them."""
    table = Table(title=f"study {study['id']} '{study['name']}'")
    heads = ("variant", "campaign", "status", "labels", "F RMSE meV/Å", "E RMSE meV/at",
             *(m.label for m in METRICS.values()), "GPU h", "DFT h")  # fmt: skip
    for head in heads:
        table.add_column(head)
    for v in study["variants"]:
        name = v["variant"] + (f" (seed {v['seed']})" if len(study["spec"]["seeds"]) > 1 else "")
        table.add_row(
            name, str(v["campaign_id"]), v["status"],
            f"{v['labels_cp2k']}" + (f" +{v['labels_imported']}" if v["labels_imported"] else ""),
            _number(v["forces_rmse_meV_per_A"]), _number(v["energy_rmse_meV_per_atom"], 2),
            *(_number(v[key], 3) for key in METRICS), _number(v["gpu_hours"], 2),
            _number(v["dft_hours"], 2),
        )  # fmt: skip
    return table


@app.command("submit")
def submit(
    study_file: Annotated[Path, typer.Argument(help="study spec, YAML or JSON")],
    start: Annotated[bool, typer.Option(help="start every campaign right away")] = False,
    api: ApiOpt = None,
    token: TokenOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check every variant locally, submit the study, optionally start it."""
    spec = load_study(study_file)
    expand_study(spec)  # every variant's campaign spec, checked before anything is sent
    with make_client(api, token) as client:
        study = client.create_study(spec.model_dump(mode="json"))
        if start:
            study = client.start_study(study["id"])
    if json_:
        print_json(study)
        return
    console.print(study_table(study))
    if not start:
        console.print(f"start it with `wise-al study start {study['id']}`")


@app.command("start")
def start_(study_id: StudyArg, api: ApiOpt = None, token: TokenOpt = None) -> None:
    """Start every draft campaign of a study."""
    with make_client(api, token) as client:
        console.print(study_table(client.start_study(study_id)))


@app.command("show")
def show(study_id: StudyArg, api: ApiOpt = None, json_: JsonOpt = False) -> None:
    """The variants side by side."""
    with make_client(api) as client:
        study = client.get_study(study_id)
    if json_:
        print_json(study)
    else:
        console.print(study_table(study))


@app.command("csv")
def csv_(
    study_id: StudyArg,
    output: Annotated[Path | None, typer.Option("-o", help="file (default: stdout)")] = None,
    api: ApiOpt = None,
) -> None:
    """The comparison as CSV."""
    with make_client(api) as client:
        text = client.study_csv(study_id)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="study")
