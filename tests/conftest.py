"""Shared fixtures: real SQLite and PostgreSQL databases built by the Alembic migrations.

PostgreSQL is the server of this machine (WISE_AL_TEST_POSTGRES_URL, set by `make test`);
each test session works in a database of its own, created here and dropped at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from tests.support.cli import WISE_AL
from tests.support.databases import PostgresDatabases
from tests.support.once import build_once, run_uid, shared_root
from wise_al.db import (
    migrate,
    models,  # noqa: F401  (registers every table on Base.metadata)
)
from wise_al.db.base import Base
from wise_al.db.engine import create_db_engine, create_session_factory, normalize_url

if TYPE_CHECKING:
    from tests.support.shared_campaign import CampaignCopy

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
def shared(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """The folder where things built once per run live, seen by every xdist worker."""
    return shared_root(tmp_path_factory, pytestconfig)


@pytest.fixture(scope="session")
def tiny_committee_paths(shared: Path) -> list[Path]:
    """Two real MACE models (H, Li, O) trained once per test run (~20 s on CPU)."""
    from tests.support.mace_models import train_tiny_member

    def build(work: Path) -> dict[str, Any]:
        return {"paths": [str(train_tiny_member(work, seed)) for seed in (1, 2)]}

    return [Path(p) for p in build_once(shared / "committee", build)["paths"]]


def build_demo_home(home: Path) -> dict[str, Any]:
    """A small demo foundation (xTB labels of all seven elements) built by the real command.

    6 frames and 2 epochs (~1 min): poor physics, fine for running the loop end to end.
    """
    env = {**os.environ, "WISE_AL_HOME": str(home)}
    command = [*WISE_AL, "models", "build-demo-foundation", "--frames", "6", "--epochs", "2"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=900)
    return {"home": str(home)}


@pytest.fixture(scope="session")
def demo_foundation(shared: Path) -> Path:
    """The demo home built once per run; read it, never write it (see ``demo_home``)."""
    return Path(build_once(shared / "demo-home", build_demo_home)["home"])


@pytest.fixture(scope="session")
def demo_home(demo_foundation: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This worker's own copy of the demo home (a test may write data or keys into it)."""
    home = tmp_path_factory.mktemp("home")
    shutil.copytree(demo_foundation, home, dirs_exist_ok=True)
    return home


@pytest.fixture(scope="session")
def shared_campaign(
    shared: Path, demo_foundation: Path, postgres: PostgresDatabases, pytestconfig: pytest.Config
) -> dict[str, Any]:
    """The record of the campaign driven once per run (tests/support/shared_campaign.py)."""
    from tests.support.shared_campaign import build_shared_campaign, shared_prefix

    admin = postgres.admin.url.render_as_string(False)
    prefix = shared_prefix(pytestconfig)
    return build_once(
        shared / "campaign",
        lambda folder: build_shared_campaign(folder, admin, prefix, demo_foundation),
    )


@pytest.fixture
def finished_campaign(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CampaignCopy]:
    """A private copy of the shared campaign, completed after 2 reviewed iterations."""
    from tests.support.shared_campaign import campaign_copy

    record = request.getfixturevalue("shared_campaign")
    with campaign_copy(record, "finished", request.config, tmp_path) as copy:
        yield copy


@pytest.fixture(scope="session", autouse=True)
def compose_images_building(request: pytest.FixtureRequest, shared: Path) -> None:
    """When the run holds compose tests, their images start building with its first test."""
    if os.geteuid() == 0 and any(i.get_closest_marker("compose") for i in request.session.items):
        from tests.support import compose_build

        compose_build.start(shared / "compose-build")


def pytest_configure(config: pytest.Config) -> None:
    run_uid(config)  # before pytest-xdist starts its workers, which inherit it


def _uses_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.values() if info is not None else []
    return any(d.scope == "module" for group in defs for d in group)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep a module fixture to one worker, and order the run for two workers.

    A module whose tests use a module-scoped fixture (a deployment, a cluster, a site) runs
    on one xdist worker, so the fixture is built once. Slow and process tests go first, then
    the compose tests (their images have been building in the background since the run
    began), and cheap tests fill the gaps at the end (``make test`` keeps this order:
    ``--no-loadscope-reorder``).
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _uses_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("compose"):
            return 1
        heavy = item.get_closest_marker("slow") or item.get_closest_marker("processes")
        return 0 if heavy else 2

    items.sort(key=rank)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a run without workers) drops the shared databases at the end."""
    from tests.support.shared_campaign import shared_prefix

    if hasattr(session.config, "workerinput"):
        return
    with contextlib.suppress(Exception):  # no PostgreSQL: nothing was made there
        databases = PostgresDatabases(_admin_url())
        databases.drop(databases.named_like(shared_prefix(session.config)))
