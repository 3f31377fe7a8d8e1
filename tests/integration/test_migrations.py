"""The schema exists only through migrations: up, down and up again, and models agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Connection, column, table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from tests.conftest import table_names
from tests.support.databases import PostgresDatabases
from wise_al.db import (
    migrate,
    models,  # noqa: F401  (registers every table on Base.metadata)
)
from wise_al.db.base import Base, utcnow
from wise_al.db.engine import create_db_engine
from wise_al.errors import WiseAlError

JSON_TYPE = JSON().with_variant(postgresql.JSONB(), "postgresql")
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


def _campaign_with_a_frame(conn: Connection, status: str, phase: str) -> None:
    """Campaign 1, its iteration 0 in ``phase`` and one selected frame, in plain SQL (the
    schema of an older revision, where the models do not apply)."""
    now = {"now": utcnow()}
    conn.execute(
        text(
            "INSERT INTO campaign (id, name, status, schema_version, spec, created_at, "
            "updated_at) VALUES (1, 'c', :status, 1, '{}', :now, :now)"
        ),
        {**now, "status": status},
    )
    conn.execute(
        text(
            'INSERT INTO iteration (id, campaign_id, "index", phase, metrics, started_at) '
            "VALUES (1, 1, 0, :phase, '{}', :now)"
        ),
        {**now, "phase": phase},
    )
    conn.execute(
        text(
            "INSERT INTO frame (id, campaign_id, iteration_id, md_step, status, n_atoms, "
            "structure, created_at) VALUES (1, 1, 1, 0, 'selected', 1, '{}', :now)"
        ),
        now,
    )


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


#: The label table as revision 0004 left it (the columns the test fills).
OLD_LABEL = table(
    "label",
    *(column(name) for name in ("id", "frame_id", "level_sha256", "status", "attempts")),
    *(column(name) for name in ("created_at",)),
    *(column(name, JSON_TYPE) for name in ("level_of_theory", "stress_eV_per_A3", "attempt_log")),
)


def test_old_cp2k_signed_stresses_are_negated_once(empty_url: str) -> None:
    """0005 turns a label stored with CP2K's sign (compression positive) into dE/dstrain."""

    migrate.upgrade(empty_url, "c4e2a9d17f35")  # the schema before stresses were converted
    old = [[0.002, 0.0001, 0.0], [0.0001, 0.003, 0.0], [0.0, 0.0, 0.001]]
    engine = create_db_engine(empty_url)
    now = utcnow()
    with engine.begin() as conn:
        _campaign_with_a_frame(conn, "draft", "label")
        for label_id, level, stress in ((1, "a", old), (2, "b", None)):
            conn.execute(
                OLD_LABEL.insert().values(
                    id=label_id,
                    frame_id=1,
                    level_of_theory={},
                    level_sha256=level,
                    status="done",
                    stress_eV_per_A3=stress,
                    attempts=1,
                    attempt_log=[],
                    created_at=now,
                )
            )
    migrate.upgrade(empty_url)
    migrate.upgrade(empty_url)  # at head: nothing runs twice

    def stored() -> dict[int, tuple[object, object]]:
        with engine.connect() as conn:
            rows = conn.execute(
                text('SELECT id, "stress_eV_per_A3", stress_convention FROM label ORDER BY id')
            ).all()
        return {int(i): (json.loads(s) if isinstance(s, str) else s, conv) for i, s, conv in rows}

    after = stored()
    assert after[1] == ([[-v for v in row] for row in old], "dE_dstrain")
    assert after[2][0] is None
    # down restores CP2K's sign, up converts it again: still exactly one negation
    migrate.downgrade(empty_url, "c4e2a9d17f35")
    migrate.upgrade(empty_url)
    assert stored()[1] == after[1]
    engine.dispose()


def test_task_runs_become_leases_and_e0s_are_planned_again(empty_url: str) -> None:
    """0006 keeps each task run's unit and index, and drops the Celery routing it held."""
    migrate.upgrade(empty_url, "5a71c0e3d9b2")
    engine = create_db_engine(empty_url)
    now = utcnow()
    old = table(
        "task_run",
        column("id"), column("campaign_id"), column("task_name"), column("unit_key"),
        column("queue"), column("iteration_index"), column("payload", JSON_TYPE),
        column("status"), column("attempts"), column("queued_at"),
    )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO campaign (id, name, status, schema_version, spec, created_at, "
                "updated_at) VALUES (1, 'c', 'running', 1, '{}', :now, :now)"
            ),
            {"now": now},
        )
        for row_id, unit, index, status in ((1, "label", 42, "done"), (2, "e0s", None, "done")):
            conn.execute(
                old.insert().values(
                    id=row_id,
                    campaign_id=1,
                    task_name=f"wise_al.{unit}",
                    unit_key=f"campaign/1/{unit}/{index}",
                    queue="dft",
                    iteration_index=0,
                    payload={"campaign_id": 1, "unit": unit, "iteration": 0, "index": index},
                    status=status,
                    attempts=1,
                    queued_at=now,
                )
            )
    migrate.upgrade(empty_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, unit, unit_index FROM task_run ORDER BY id")).all()
        columns = {c[1] for c in conn.execute(text("SELECT * FROM task_run")).cursor.description}
    # the finished e0s run is gone: the loop plans it again and records the energies
    assert [tuple(r) for r in rows] == [(1, "label", 42)]
    assert {"task_name", "queue", "payload"}.isdisjoint(columns)
    migrate.downgrade(empty_url, "5a71c0e3d9b2")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT task_name, queue, payload FROM task_run")).one()
    assert back[0] == "wise_al.label" and back[1] == "dft"
    payload = json.loads(back[2]) if isinstance(back[2], str) else back[2]
    assert payload["index"] == 42
    engine.dispose()


def test_the_validate_phase_is_added_without_losing_an_iteration_child(empty_url: str) -> None:
    """0007 rewrites the phase CHECK; on SQLite that rebuilds ``iteration``, which must not
    cascade into its frames (foreign keys are off while a migration rebuilds tables)."""
    migrate.upgrade(empty_url, "6b1f0d2c8e47")
    engine = create_db_engine(empty_url)
    with engine.begin() as conn:
        _campaign_with_a_frame(conn, "running", "evaluate")
    migrate.upgrade(empty_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE iteration SET phase = 'validate' WHERE id = 1"))
        assert conn.execute(text("SELECT count(*) FROM frame")).scalar() == 1
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE iteration SET phase = 'bogus' WHERE id = 1"))
    migrate.downgrade(empty_url, "6b1f0d2c8e47")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT phase FROM iteration")).scalar() == "decide"
        assert conn.execute(text("SELECT count(*) FROM frame")).scalar() == 1
    engine.dispose()


def test_datasets_mark_old_labels_cp2k_and_going_back_drops_only_imported_ones(
    empty_url: str,
) -> None:
    """0008: every existing label is CP2K's; a downgrade removes imported labels and their
    frames (the old schema cannot say where they came from) and nothing else."""
    migrate.upgrade(empty_url, "7c2e4a9f1b30")
    engine = create_db_engine(empty_url)
    now = {"now": utcnow()}
    label_sql = text(
        "INSERT INTO label (frame_id, level_of_theory, level_sha256, status, attempts, "
        "attempt_log, created_at) VALUES (:frame, '{}', 'l', 'done', 1, '[]', :now)"
    )
    with engine.begin() as conn:
        _campaign_with_a_frame(conn, "running", "label")
        conn.execute(label_sql, {**now, "frame": 1})
    migrate.upgrade(empty_url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT provenance FROM label")).scalar() == "cp2k"
        conn.execute(
            text(
                "INSERT INTO dataset (id, name, kind, sha256, size_bytes, file_path, summary, "
                "description, created_at) VALUES (1, 'd', 'labelled', 's', 1, 'f', '{}', '', :now)"
            ),
            now,
        )
        conn.execute(
            text(
                "INSERT INTO frame (id, campaign_id, iteration_id, md_step, status, n_atoms, "
                "structure, split_group, source, created_at) "
                "VALUES (2, 1, 1, 0, 'selected', 1, '{}', 'dataset-1/block-0', 'seed', :now)"
            ),
            now,
        )
        conn.execute(label_sql, {**now, "frame": 2})
        conn.execute(
            text("UPDATE label SET provenance = 'imported', dataset_id = 1 WHERE frame_id = 2")
        )
        conn.execute(text("UPDATE iteration SET phase = 'seed'"))
    migrate.downgrade(empty_url, "7c2e4a9f1b30")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM frame")).scalars().all() == [1]
        assert conn.execute(text("SELECT frame_id FROM label")).scalars().all() == [1]
        assert conn.execute(text("SELECT phase FROM iteration")).scalar() == "explore"
    engine.dispose()


def test_frames_learn_their_source_from_their_walker_run(empty_url: str) -> None:
    """0011: a frame with a walker run is a walker frame, one without is a seed frame; a
    downgrade drops the columns and keeps the frames."""
    migrate.upgrade(empty_url, "a1c7e5d9f0b6")
    engine = create_db_engine(empty_url)
    now = {"now": utcnow()}
    with engine.begin() as conn:
        _campaign_with_a_frame(conn, "running", "label")
        conn.execute(
            text(
                "INSERT INTO walker_run (id, iteration_id, walker_index, conditions, seed, "
                "status, steps_done, frame_counts) VALUES (1, 1, 0, '{}', 0, 'done', 10, '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO frame (id, campaign_id, iteration_id, walker_run_id, md_step, "
                "status, n_atoms, structure, created_at) "
                "VALUES (2, 1, 1, 1, 10, 'candidate', 1, '{}', :now)"
            ),
            now,
        )
    migrate.upgrade(empty_url)
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, source, validation_id FROM frame ORDER BY id"))
        assert [tuple(r) for r in rows] == [(1, "seed", None), (2, "walker", None)]
    migrate.downgrade(empty_url, "a1c7e5d9f0b6")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM frame")).scalar() == 2
    engine.dispose()
