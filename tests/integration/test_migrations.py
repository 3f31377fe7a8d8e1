"""The schema exists only through migrations: up, down and up again, and models agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.conftest import PostgresDatabases, table_names
from wise_al.db import (
    migrate,
    models,  # noqa: F401  (registers every table on Base.metadata)
)
from wise_al.db.base import Base, utcnow
from wise_al.db.engine import create_db_engine
from wise_al.errors import WiseAlError

EXPECTED_TABLES = {t.name for t in Base.metadata.sorted_tables}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with nothing in it, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    return postgres.create()


def _differences(url: str) -> list[object]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    assert table_names(empty_url) == set()
    migrate.upgrade(empty_url)
    assert table_names(empty_url) == EXPECTED_TABLES | {"alembic_version"}
    migrate.downgrade(empty_url, "base")
    assert table_names(empty_url) <= {"alembic_version"}
    migrate.upgrade(empty_url)
    assert table_names(empty_url) == EXPECTED_TABLES | {"alembic_version"}
    assert migrate.current_revision(create_db_engine(empty_url)) == migrate.head_revision()


def test_models_and_migrations_agree(empty_url: str) -> None:
    """Autogenerate finds nothing to add: a model change without a revision fails here."""
    migrate.upgrade(empty_url)
    assert _differences(empty_url) == []


def test_an_unmigrated_database_is_refused_with_the_fix(empty_url: str) -> None:
    with pytest.raises(WiseAlError, match="run `wise-al db upgrade`"):
        migrate.require_current(create_db_engine(empty_url))


def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO iteration (campaign_id, "index", phase, metrics, started_at) '
                "VALUES (999, 0, 'explore', '{}', :now)"
            ),
            {"now": utcnow()},
        )
