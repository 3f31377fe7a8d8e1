"""``wise-al demo``: the most a fresh machine can run today, honestly labelled."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer

from wise_al.cli.admin import serve_command
from wise_al.cli.output import console
from wise_al.client import ApiError, WiseAlClient
from wise_al.db import migrate
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.repositories import TokenRepository
from wise_al.errors import WiseAlError
from wise_al.settings import CoreSettings
from wise_al.spec import load_spec

EXAMPLE_SPEC = migrate.MIGRATIONS_DIR.parent / "examples" / "demo.yaml"

NOT_BUILT_YET = (
    "committee exploration (MD, deviation, physics flags, selection)",
    "CP2K labelling",
    "committee training and fine-tuning",
    "the loop, Celery workers and `wise-al up`",
    "the dashboard",
)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


def _wait_healthy(client: WiseAlClient, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise WiseAlError(f"the API exited with code {server.returncode} while starting")
        try:
            client.health()
            return
        except ApiError:
            time.sleep(0.2)
    raise WiseAlError(f"the API did not answer within {timeout_s:.0f} s")


def demo(
    spec_file: Annotated[Path, typer.Option("--spec", help="campaign to submit")] = EXAMPLE_SPEC,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    exit_after_submit: Annotated[
        bool, typer.Option(help="stop the API once the campaign is submitted (for scripts)")
    ] = False,
) -> None:
    """Migrate the embedded database, start the API, submit the example campaign."""
    settings = CoreSettings()
    spec = load_spec(spec_file)
    if not _port_free(host, port):
        raise WiseAlError(f"port {port} on {host} is in use: stop what runs there or pass --port")
    url = settings.resolved_database_url()
    migrate.upgrade(url)
    sessions = create_session_factory(create_db_engine(url))
    with transaction(sessions) as session:
        token, secret = TokenRepository(session).create("demo")
        token_id = token.id
    console.print(f"[bold]wise-al demo[/]  database {url}")
    server = subprocess.Popen(serve_command(host, port, "warning"))
    base_url = f"http://{host}:{port}"
    try:
        with WiseAlClient(base_url, secret) as client:
            _wait_healthy(client, server, timeout_s=60)
            campaign = client.create_campaign(spec)
        console.print(
            f"submitted campaign [bold]{campaign['id']}[/] '{campaign['name']}' "
            f"({spec.system.atom_count()} atoms, {spec.labelling.method} labels): status draft"
        )
        console.print("[yellow]not built yet[/], so the campaign stays a draft:")
        for item in NOT_BUILT_YET:
            console.print(f"  - {item}")
        console.print(f"API at {base_url}/api/v1  (docs {base_url}/docs)")
        console.print(f"try: WISE_AL_API_URL={base_url} wise-al campaigns")
        if exit_after_submit:
            return
        console.print("Ctrl-C stops the API.")
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        with transaction(sessions) as session:  # the demo's token dies with the demo
            TokenRepository(session).revoke(token_id)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command()(demo)
