"""Commands that act on this machine directly: database, tokens, spec tools, the server."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from wise_al.campaign_spec import dump_spec, load_spec, spec_json_schema
from wise_al.cli.output import console, print_json
from wise_al.db import migrate
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.models import ApiToken
from wise_al.db.repositories import TokenRepository
from wise_al.db.repositories.tokens import DEFAULT_LIFETIME, DEFAULT_SCOPES, SCOPES, is_expired
from wise_al.settings import CoreSettings

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]

db_app = typer.Typer(help="Database schema (Alembic migrations).")
token_app = typer.Typer(help="API tokens (stored hashed; shown once).")
spec_app = typer.Typer(help="Campaign spec tools.")


def _help_without_command(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


for _group in (db_app, token_app, spec_app):
    _group.callback(invoke_without_command=True)(_help_without_command)


def _database_url() -> str:
    return CoreSettings().resolved_database_url()


def _session_factory() -> sessionmaker[Session]:
    engine = create_db_engine(_database_url())
    migrate.require_current(engine)
    return create_session_factory(engine)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database (WISE_AL_DATABASE_URL) up to REVISION."""
    migrate.upgrade(_database_url(), revision)
    console.print(f"database at {migrate.current_revision(create_db_engine(_database_url()))}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target, or 'base'")]) -> None:
    """Migrate the database down to REVISION ('base' drops every table)."""
    migrate.downgrade(_database_url(), revision)
    console.print(f"database at {revision}")


@db_app.command("current")
def db_current(json_: JsonOpt = False) -> None:
    """Print the database's revision and the code's newest one."""
    current = migrate.current_revision(create_db_engine(_database_url()))
    head = migrate.head_revision()
    if json_:
        print_json({"current": current, "head": head})
    else:
        console.print(f"current {current or 'none'}, head {head}")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="who or what uses it")] = "cli",
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help=f"what it may do, repeatable: {', '.join(SCOPES)} "
            f"(default: {' and '.join(DEFAULT_SCOPES)})"
        ),
    ] = None,
    expires_days: Annotated[
        float, typer.Option(min=0.0, max=3650.0, help="lifetime in days; 0 never expires")
    ] = DEFAULT_LIFETIME.days,
    json_: JsonOpt = False,
) -> None:
    """Mint a token and print it once; only its hash is stored."""
    lifetime = timedelta(days=expires_days) if expires_days > 0 else None
    with transaction(_session_factory()) as session:
        token, secret = TokenRepository(session).create(name, scope or DEFAULT_SCOPES, lifetime)
        row = _token_row(token)
    if json_:
        print_json({**row, "token": secret})
    else:
        console.print(
            f"token {row['id']} for '{name}', may {row['scopes']}, "
            f"expires {row['expires_at'] or 'never'} (shown once, store it now):"
        )
        sys.stdout.write(secret + "\n")


def _token_row(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": token.scopes.replace(" ", ", "),
        "created_at": token.created_at.isoformat(timespec="seconds"),
        "expires_at": token.expires_at.isoformat(timespec="seconds") if token.expires_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked": token.revoked_at is not None,
        "expired": is_expired(token),
    }


@token_app.command("list")
def token_list(json_: JsonOpt = False) -> None:
    """List tokens (prefixes only; secrets are not recoverable)."""
    with transaction(_session_factory()) as session:
        rows = [_token_row(t) for t in TokenRepository(session).list()]
    if json_:
        print_json(rows)
        return
    table = Table("id", "prefix", "name", "scopes", "expires", "state", box=None)
    for row in rows:
        state = (
            "revoked"
            if row["revoked"]
            else "expired"
            if row["expired"]
            else f"last used {row['last_used_at'] or 'never'}"
        )
        table.add_row(
            str(row["id"]), f"{row['prefix']}…", row["name"], row["scopes"],
            row["expires_at"] or "never", state,
        )  # fmt: skip
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument()]) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    with transaction(_session_factory()) as session:
        TokenRepository(session).revoke(token_id)
    console.print(f"token {token_id} revoked")


@spec_app.command("schema")
def spec_schema() -> None:
    """Print the campaign spec's JSON Schema (for editors and validators)."""
    print_json(spec_json_schema())


@spec_app.command("validate")
def spec_validate(
    spec_file: Annotated[Path, typer.Argument(help="campaign spec, YAML or JSON")],
    json_: JsonOpt = False,
) -> None:
    """Validate a spec file without submitting it; with --json, print it with defaults."""
    spec = load_spec(spec_file)
    if json_:
        print_json(dump_spec(spec))
    else:
        console.print(
            f"{spec_file}: valid ({spec.system.atom_count()} atoms, "
            f"{spec.model.strategy}, {spec.labelling.method} labels)"
        )


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    log_level: Annotated[str, typer.Option()] = "info",
) -> None:
    """Run the REST API alone (uvicorn). The database must be migrated first."""
    engine = create_db_engine(_database_url())
    migrate.require_current(engine)  # one line here, not uvicorn's traceback of the lifespan
    engine.dispose()
    os.execv(sys.executable, serve_command(host, port, log_level))


def serve_command(host: str, port: int, log_level: str = "info") -> list[str]:
    """argv that runs the API; the API lives in services/, which the core never imports."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "services.api.app:create_app",
        "--host",
        host,
        "--port",
        str(port),
        "--log-level",
        log_level,
    ]


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.add_typer(db_app, name="db")
    app.add_typer(token_app, name="token")
    app.add_typer(spec_app, name="spec")
    app.command()(serve)
