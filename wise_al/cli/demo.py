"""``wise-al demo``: embedded mode running the example campaign, with live progress."""

from __future__ import annotations

import time
from contextlib import suppress
from pathlib import Path
from typing import Annotated, Any

import typer
from ase import Atoms
from ase.io import read
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from wise_al.campaign_spec import CampaignSpec, load_spec
from wise_al.cli.embedded import HostOpt, PortOpt, embedded
from wise_al.cli.learning import calibration_table, contacts_table, contacts_verdict
from wise_al.cli.output import console, iterations_table, validations_table
from wise_al.client import WiseAlClient
from wise_al.db import migrate
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.repositories import TokenRepository
from wise_al.settings import CoreSettings

EXAMPLE_SPEC = migrate.MIGRATIONS_DIR.parent / "examples" / "demo.yaml"
FINISHED = ("completed", "failed", "cancelled")


def _ensure_foundation(settings: CoreSettings, spec: CampaignSpec) -> None:
    foundation = spec.model.foundation
    if foundation != "models/demo-foundation.model" or (settings.home / foundation).is_file():
        return
    from wise_al.cli.models import build_demo_foundation_command

    console.print("no demo foundation model yet: building it (a few minutes, once)")
    build_demo_foundation_command()


#: The demo's external test set: CP2K's own MD of its cell, built once like the foundation.
DEMO_REFERENCE = "data/demo-reference.extxyz"
#: 30 kept steps after 20 at each walker temperature, a frame every 5: ~1 min per
#: temperature on 2 cores, 12 frames the committees of every iteration are scored on.
DEMO_REFERENCE_MD = {
    "steps": 30,
    "equilibration_steps": 20,
    "save_every": 5,
    "thermostat_fs": 20.0,  # 25 fs of run in all: the thermostat must act within it
    "seed": 0,
}
#: Relaxed first: a packed cell's close contacts heat raw MD far above its thermostat.
DEMO_REFERENCE_RELAX_STEPS = 60


def _ensure_reference(settings: CoreSettings, spec: CampaignSpec) -> None:
    if spec.model.training.external_test_set != DEMO_REFERENCE:
        return
    output = settings.home / DEMO_REFERENCE
    if output.is_file():
        return
    from wise_al.cli.reference_md import build_reference
    from wise_al.systems.cells import pack_cell

    system = spec.system
    temperatures = sorted({w.temperature_K or system.temperature_K for w in system.walkers})
    console.print(
        f"no reference MD of the demo cell yet: CP2K runs it at "
        f"{', '.join(f'{t:g} K' for t in temperatures)} (a few minutes, once); every "
        "iteration's committee is scored on its frames"
    )
    start = pack_cell(system.molecules(), density_g_per_cm3=system.density_g_per_cm3, seed=99)
    # a freshly packed cell's first MD steps need more SCF cycles than a single point; the
    # cap is not part of the level of theory, so the frames stay at the labels' level
    labelling = spec.labelling.model_copy(update={"max_scf": max(spec.labelling.max_scf, 300)})
    report = build_reference(
        output,
        labelling,
        start,
        temperatures,
        DEMO_REFERENCE_MD,
        on_run=lambda t: console.print(f"  CP2K MD at {t:g} K" if t else "  CP2K relaxes the cell"),
        relax_steps=DEMO_REFERENCE_RELAX_STEPS,
    )
    console.print(f"  {report['frames']} reference frames in {output}")


def _reference(settings: CoreSettings) -> list[Atoms]:
    """CP2K's MD of the demo cell, when the demo built it (the contacts' baseline)."""
    path = settings.home / DEMO_REFERENCE
    if not path.is_file():
        return []
    frames = read(path, ":")
    assert isinstance(frames, list)
    return frames


def _follow(client: WiseAlClient, campaign_id: int, spec: CampaignSpec) -> dict[str, Any]:
    """Show the campaign's iteration, phase and reason until it finishes."""
    total = spec.stopping.max_iterations
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("iteration {task.completed:.0f}/{task.total:.0f}"),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("starting", total=total)
        while True:
            campaign = client.get_campaign(campaign_id)
            iterations = client.iterations(campaign_id)
            current = iterations[-1] if iterations else {"index": 0, "phase": "explore"}
            finished = sum(1 for i in iterations if i["phase"] == "done")
            reason = campaign["status_reason"] or ""
            bar.update(
                task,
                completed=finished,
                description=f"{current['phase']:<8} {reason[:60]}",
            )
            if campaign["status"] in FINISHED:
                return campaign
            time.sleep(2)


def demo(
    spec_file: Annotated[Path, typer.Option("--spec", help="campaign to run")] = EXAMPLE_SPEC,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    exit_when_done: Annotated[
        bool, typer.Option(help="stop the services when the campaign ends (for scripts)")
    ] = False,
) -> None:
    """Run the example campaign on this machine (SQLite, xTB labels) and keep the API up."""
    settings = CoreSettings()
    spec = load_spec(spec_file)
    _ensure_foundation(settings, spec)
    _ensure_reference(settings, spec)
    with embedded(settings, host, port) as (url, server):
        sessions = create_session_factory(create_db_engine(settings.resolved_database_url()))
        with transaction(sessions) as session:
            token, secret = TokenRepository(session).create("demo")
            token_id = token.id
        try:
            with WiseAlClient(url, secret) as client:
                campaign = client.create_campaign(spec)
                client.control_campaign(campaign["id"], "start")
                console.print(
                    f"campaign [bold]{campaign['id']}[/] '{campaign['name']}': "
                    f"{spec.system.atom_count()} atoms, {spec.labelling.method} labels, "
                    f"committee of {spec.model.committee_size}; watch it at "
                    f"{url}/campaigns/{campaign['id']}"
                )
                ended = _follow(client, campaign["id"], spec)
                console.print(f"{ended['status']}: {ended['status_reason']}", markup=False)
                iterations = client.iterations(campaign["id"])
                console.print(iterations_table(iterations))
                console.print(calibration_table(iterations))
                validations = client.validations(campaign["id"])
                if validations:
                    console.print(validations_table(validations))
                    console.print(contacts_table(iterations, validations, _reference(settings)))
                    console.print(contacts_verdict(validations))
            if exit_when_done:
                return
            console.print(
                f"dashboard at {url} (to review, sign in with a token from "
                f"`wise-al token create NAME`), API at {url}/api/v1; Ctrl-C stops."
            )
            with suppress(KeyboardInterrupt):
                server.wait()
        finally:
            with transaction(sessions) as session:  # the demo's token dies with the demo
                TokenRepository(session).revoke(token_id)


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command()(demo)
