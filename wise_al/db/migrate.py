"""Alembic, driven from code: the schema exists only through ``migrations/`` revisions."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from wise_al.db.engine import normalize_url
from wise_al.errors import WiseAlError

#: migrations/ sits beside the wise_al package in the repository (and in the images).
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that needs no alembic.ini on disk."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise WiseAlError(
            f"migrations not found at {MIGRATIONS_DIR}: install wise-al from its repo"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is ConfigParser interpolation syntax; URLs may contain it in passwords.
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` removes everything)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest revision in ``migrations/``."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def session_revision(session: Session) -> str | None:
    """The revision the database is at, read on ``session``'s connection."""
    return MigrationContext.configure(session.connection()).get_current_revision()


def require_current(engine: Engine) -> None:
    """Raise a readable error unless the database is at the newest revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise WiseAlError(
            f"database schema is at {current or 'nothing'}, code expects {head}: "
            "run `wise-al db upgrade`"
        )
