"""Shared fixtures: real SQLite and PostgreSQL databases built by the Alembic migrations.

PostgreSQL is the server of this machine (WISE_AL_TEST_POSTGRES_URL, set by `make test`);
each test session works in a database of its own, created here and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from tests.support.databases import PostgresDatabases
from wise_al.db import (
    migrate,
    models,  # noqa: F401  (registers every table on Base.metadata)
)
from wise_al.db.base import Base
from wise_al.db.engine import create_db_engine, create_session_factory, normalize_url

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> str:
    return normalize_url(os.environ.get("WISE_AL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    """Factory of fresh PostgreSQL databases; fails if the server is required but down."""
    databases = PostgresDatabases(_admin_url())
    try:
        with databases.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        if "WISE_AL_TEST_POSTGRES_URL" in os.environ:
            pytest.fail(f"PostgreSQL at {_admin_url()} is required but unreachable: {exc}")
        pytest.skip(f"no PostgreSQL at {_admin_url()} (set WISE_AL_TEST_POSTGRES_URL)")
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.connect() as conn:  # fold the WAL into the main file before copying it
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_migrated(postgres: PostgresDatabases) -> str:
    """One migrated PostgreSQL database for the session; tables are emptied after each test."""
    url = postgres.create()
    migrate.upgrade(url)
    return url


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty, migrated database, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "wise_al.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_migrated")
    yield url
    engine = create_db_engine(url)
    _truncate_all(engine)
    engine.dispose()


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test database."""
    engine = create_db_engine(database_url)
    yield create_session_factory(engine)
    engine.dispose()


def table_names(url: str) -> set[str]:
    """Tables present in the database at ``url``."""
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def tiny_committee_paths(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two real MACE models (H, Li, O) trained once per test session (~20 s on CPU)."""
    from tests.support.mace_models import train_tiny_member

    work = tmp_path_factory.mktemp("committee")
    return [train_tiny_member(work, seed) for seed in (1, 2)]


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WISE_AL_HOME holding a small demo foundation (xTB labels of all seven elements).

    Built by the real command with 6 frames and 2 epochs (~1 min): poor physics, fine for
    running the loop end to end.
    """
    import os
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "WISE_AL_HOME": str(home)}
    command = [
        sys.executable,
        "-m",
        "wise_al",
        "models",
        "build-demo-foundation",
        "--frames",
        "6",
        "--epochs",
        "2",
    ]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=900)
    return home
