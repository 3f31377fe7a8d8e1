"""``wise-al train`` and ``wise-al models evaluate``: committees from labelled files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import typer
from ase import Atoms
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from wise_al.campaign_spec.io import load_spec
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.campaign_spec.model import Strategy, TrainingSpec
from wise_al.cli.explore import JsonOpt, SpecOpt, read_frames
from wise_al.cli.output import console, err_console, print_json
from wise_al.errors import WiseAlError
from wise_al.settings import Cp2kSettings

STRATEGIES: tuple[str, ...] = get_args(Strategy)
models_app = typer.Typer(help="Evaluate and build MACE models.", no_args_is_help=True)


def _level_spec(data: Path, spec: Path | None) -> LabellingSpec:
    """How the labels were made: the campaign spec, or the sidecar ``wise-al label`` wrote."""
    from wise_al.cp2k.level import spec_from_level

    if spec is not None:
        return load_spec(spec).labelling
    sidecar = data.with_name(data.name + ".labels.json")
    if not sidecar.is_file():
        raise WiseAlError(
            f"say how {data.name} was labelled for its E0s: --spec campaign.yaml, "
            f"--e0s JSON, or keep the {sidecar.name} that `wise-al label` wrote beside it"
        )
    levels = json.loads(sidecar.read_text())["summary"]["levels_of_theory"]
    if len(levels) != 1:
        raise WiseAlError(f"{sidecar.name} records {len(levels)} levels of theory: pass --e0s")
    return spec_from_level(next(iter(levels.values())))


def _e0s(frames: list[Atoms], data: Path, spec: Path | None, e0s: str | None) -> dict[int, float]:
    """E0s given as JSON, or computed with CP2K at the labels' level (cached per element)."""
    if e0s is not None:
        try:
            given = {int(z): float(e) for z, e in json.loads(e0s).items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise WiseAlError(f"--e0s must be a JSON object of Z to eV ({exc})") from None
        missing = {int(z) for a in frames for z in a.numbers} - set(given)
        if missing:
            raise WiseAlError(f"--e0s lacks element(s) Z={sorted(missing)}")
        return given
    from wise_al.cp2k.e0s import reference_energies
    from wise_al.cp2k.label import make_labeller
    from wise_al.cp2k.level import level_of_theory
    from wise_al.systems.levels import sha256_of

    level = _level_spec(data, spec)
    labeller = make_labeller(Cp2kSettings(), level)
    elements = sorted({s for a in frames for s in a.get_chemical_symbols()})
    recorded = {a.info.get("REF_level_sha256") for a in frames} - {None}
    ours = sha256_of(level_of_theory(level, elements, labeller.cp2k))
    if recorded and recorded != {ours}:
        raise WiseAlError("the labels were made at another level of theory than the E0s would be")
    err_console.print(f"E0s: isolated {', '.join(elements)} atoms with CP2K ({level.method})")
    return reference_energies(labeller, elements)


def train(
    data: Annotated[Path, typer.Option("--data", help="labelled extxyz (REF_energy, REF_forces)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="directory for the committee")],
    strategy: Annotated[
        str | None, typer.Option(help="from_scratch | fine_tune_naive | fine_tune_multihead")
    ] = None,
    foundation: Annotated[
        str | None, typer.Option(help="foundation .model file or mace name")
    ] = None,
    committee: Annotated[int | None, typer.Option(min=1, max=16, help="members")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="max_num_epochs")] = None,
    replay: Annotated[Path | None, typer.Option(help="replay extxyz (multihead)")] = None,
    e0s: Annotated[
        str | None, typer.Option(help='JSON {"1": -13.6, ...}; else computed with CP2K')
    ] = None,
    spec: SpecOpt = None,
    parallel: Annotated[int, typer.Option(min=1, help="members trained at once")] = 1,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "cpu",
    json_: JsonOpt = False,
) -> None:
    """Train a committee of MACE models on labelled frames (E0s at the labels' level)."""
    from wise_al.mace.fit import fit_committee
    from wise_al.mace.foundations import resolve_foundation
    from wise_al.settings import CoreSettings

    model = load_spec(spec).model if spec else None
    chosen: Strategy = strategy or (model.strategy if model else "fine_tune_naive")  # type: ignore[assignment]
    if chosen not in ("from_scratch", "fine_tune_naive", "fine_tune_multihead"):
        raise WiseAlError(
            f"--strategy {chosen!r}: from_scratch, fine_tune_naive or fine_tune_multihead"
        )
    training = model.training if model else TrainingSpec()
    if epochs is not None:
        training = training.model_copy(update={"max_num_epochs": epochs})
    size = committee or (model.committee_size if model else 4)
    home = CoreSettings().home
    named = foundation or (model.foundation if model else None)
    parent = None
    if chosen != "from_scratch":
        if named is None:
            raise WiseAlError(f"--strategy {chosen} needs --foundation (a .model file)")
        parent = resolve_foundation(named, home)
    replay_file = replay or (home / training.replay_data if training.replay_data else None)
    if chosen == "fine_tune_multihead" and (replay_file is None or not replay_file.is_file()):
        raise WiseAlError(
            "--strategy fine_tune_multihead needs --replay FILE (foundation-level data)"
        )
    frames = read_frames(data)
    energies = _e0s(frames, data, spec, e0s)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=json_) as bar:
        task = bar.add_task(f"training {size} members ({chosen})", total=size)
        fitted = fit_committee(
            frames, cast(Strategy, chosen), size, training, energies, output,
            foundation=parent, replay_file=replay_file, parallel=parallel, device=device,
            on_member=lambda m: bar.advance(task),
        )  # fmt: skip
    if json_:
        print_json(fitted.manifest)
        return
    console.print(_errors_table(fitted.manifest))
    console.print(f"{len(fitted.model_files)} models and {fitted.manifest_file.name} in {output}")


def _errors_table(manifest: dict[str, Any]) -> Table:
    counts = manifest["dataset"]["counts"]
    excluded = len(manifest["dataset"].get("excluded", []))
    table = Table(title=f"{manifest['strategy']}: {counts['train']} train, {counts['valid']} "
                  f"valid, {counts['test']} test frames, {excluded} outliers left out")  # fmt: skip
    for column in ("member", "split", "E RMSE meV/atom", "F RMSE meV/Å"):
        table.add_column(column)
    for k, member in enumerate(manifest["members"]):
        for split, errors in member["errors"].items():
            table.add_row(
                str(k),
                split,
                f"{errors['energy_rmse_meV_per_atom']:.1f}",
                f"{errors['forces_rmse_meV_per_A']:.1f}",
            )
    return table


@models_app.command("evaluate")
def evaluate_command(
    model: Annotated[Path, typer.Argument(help="a MACE .model file")],
    data: Annotated[Path, typer.Option("--data", help="labelled extxyz")],
    plot: Annotated[Path | None, typer.Option(help="write a parity plot PNG here")] = None,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "cpu",
    json_: JsonOpt = False,
) -> None:
    """Errors of a model on labelled frames, and optionally a parity plot."""
    from wise_al.mace.evaluate import evaluate, parity_plot

    frames = read_frames(data)
    errors, parity = evaluate(model, frames, device)
    if plot is not None:
        parity_plot(parity, errors, model.name, plot)
    if json_:
        print_json(errors.to_dict())
        return
    console.print(
        f"{model.name} on {errors.frames} frames: energy {errors.energy_rmse_meV_per_atom:.1f} "
        f"meV/atom, forces {errors.forces_rmse_meV_per_A:.1f} meV/Å"
        + (f"; parity plot {plot}" if plot else "")
    )


@models_app.command("build-demo-foundation")
def build_demo_foundation_command(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="default $WISE_AL_HOME/models/")
    ] = None,
    frames: Annotated[int, typer.Option(min=4, max=10_000, help="xTB-labelled cells")] = 48,
    epochs: Annotated[int, typer.Option(min=1, help="training epochs")] = 60,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Build the small stand-in foundation model the demo fine-tunes (minutes on a CPU).

    Not for science: real campaigns name a real foundation model file.
    """
    from wise_al.cli.demo_foundation import build_demo_foundation
    from wise_al.cp2k.label import make_labeller

    settings = Cp2kSettings()
    out = output or settings.home / "models" / "demo-foundation.model"
    labeller = make_labeller(settings, LabellingSpec())
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("labelling cells (GFN1-xTB, CP2K)", total=frames)
        built = build_demo_foundation(
            labeller, out, frames, epochs, seed, on_label=lambda _k: bar.advance(task)
        )
    (member,) = built.fitted.manifest["members"]
    errors = member["errors"].get("test") or member["errors"]["valid"]
    console.print(
        f"{built.model_file}: {built.fitted.manifest['dataset']['counts']['train']} training "
        f"frames, {errors['energy_rmse_meV_per_atom']:.1f} meV/atom and "
        f"{errors['forces_rmse_meV_per_A']:.0f} meV/Å on held-out frames; replay data "
        f"{built.data_file.name}"
    )


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.add_typer(models_app, name="models")
