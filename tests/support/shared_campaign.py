"""One real campaign driven once per test run on PostgreSQL, handed to tests as copies.

The campaign reviews by hand (``review.gate: required``), validates each committee in
production MD, and is scored on an external test set. It is driven inline (no Celery: the
service tests run the same loop through real workers), and three moments are kept:

``gate``       recorded only: what the first drain did (no label ran, the queue waited);
``reviewing``  iteration 0 decided (one frame rejected, the rest accepted), iteration 1
               explored with a trained committee and waiting in the review queue;
``finished``   iteration 1 accepted: the campaign completed by ``max_iterations``.

Each kept moment is a PostgreSQL template database plus a copy of the artifact folder. A
test gets ``CREATE DATABASE ... TEMPLATE`` and its own artifact folder, the stored paths
rewritten to it, so it may write whatever it likes. Its Li–Li minimum distance is 8 Å,
wider than the half-diagonal of the 8.6 Å cell, so every frame carries a real Li–Li flag.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Engine, String, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.support.databases import PostgresDatabases
from tests.support.loop_fixtures import SHORT_VALIDATION, drain, small_campaign
from tests.support.once import run_uid
from wise_al.campaign_spec import parse_spec
from wise_al.db import migrate
from wise_al.db.base import Base
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.models import FrameStatus, Label, ReviewDecision
from wise_al.db.repositories import CampaignRepository, FrameFilter, FrameRepository
from wise_al.settings import WorkerSettings

REJECT_REASON = "packing artefact"


def shared_spec() -> dict[str, Any]:
    """The shared campaign: the loop test's scoring and the dashboard's review and flags."""
    return small_campaign(
        **{
            "name": "shared-campaign",
            "review.gate": "required",
            "flags.min_distance_A": {"Li-Li": 8.0, "Li-O": 1.6, "O-O": 1.9},
            "validation": SHORT_VALIDATION,
            # the demo foundation's own xTB labels: an external test set at the level used
            "model.training.external_test_set": "models/demo-foundation-data.extxyz",
            # a target no tiny model meets keeps the loop going to max_iterations
            "stopping.observable_targets": {"sq_r_factor": 1e-6},
            # iteration 1's walker starts from the cell iteration 0's validation equilibrated
            "exploration.start": "equilibrated",
        }
    )


def _status(sessions: sessionmaker[Session], campaign_id: int) -> dict[str, Any]:
    with transaction(sessions) as session:
        campaign = CampaignRepository(session).get(campaign_id)
        labels = session.scalar(select(func.count()).select_from(Label)) or 0
        return {"status": str(campaign.status), "reason": campaign.status_reason, "labels": labels}


def _decide(sessions: sessionmaker[Session], campaign_id: int, iteration: int) -> list[int]:
    """Review ``iteration``'s selected frames: reject the first of iteration 0, accept the rest."""
    with transaction(sessions) as session:
        frames = FrameRepository(session)
        where = FrameFilter(status=FrameStatus.SELECTED, iteration=iteration)
        selected = [f.id for f in frames.page(campaign_id, where).items]
        for k, frame_id in enumerate(selected):
            if iteration == 0 and k == 0:
                frames.review(campaign_id, frame_id, "ana", ReviewDecision.REJECT, REJECT_REASON)
            else:
                frames.review(campaign_id, frame_id, "ana", ReviewDecision.ACCEPT, "")
    return selected


def _admin_url(url: str) -> str:
    """The server's ``postgres`` database, from which others are created and dropped."""
    return make_url(url).set(database="postgres").render_as_string(False)


def _admin(url: str) -> Engine:
    return create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")


def clone_database(url: str, name: str) -> str:
    """``CREATE DATABASE name TEMPLATE <url's database>``; the new database's URL."""
    template = make_url(url).database
    admin = _admin(url)
    try:
        for attempt in range(20):
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
                break
            except OperationalError as exc:  # another copy from the same template, at once
                if "being accessed by other users" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.5)
    finally:
        admin.dispose()
    return make_url(url).set(database=name).render_as_string(False)


def build_shared_campaign(folder: Path, admin_url: str, prefix: str, home: Path) -> dict[str, Any]:
    """Drive the shared campaign on a new PostgreSQL database and keep its moments.

    Returns the record ``campaign_copy`` reads: the moments' template databases and artifact
    folders, the units run, the campaign's state at the gate and the review decisions.
    """
    url = make_url(admin_url).set(database=f"{prefix}work").render_as_string(False)
    admin = _admin(admin_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{prefix}work"'))
    admin.dispose()
    migrate.upgrade(url)
    artifacts = folder / "work-artifacts"
    settings = WorkerSettings(home=home, artifact_dir=artifacts, device="cpu")
    record: dict[str, Any] = {"home": str(home), "artifacts": str(artifacts), "moments": {}}
    engine = create_db_engine(url)
    sessions = create_session_factory(engine)

    def keep(moment: str) -> None:
        record[moment] = _status(sessions, campaign_id)
        engine.dispose()  # a template database may have no connection
        name = f"{prefix}{moment}"
        clone_database(url, name)
        shutil.copytree(artifacts, folder / moment)
        record["moments"][moment] = {
            "url": make_url(url).set(database=name).render_as_string(False),
            "artifacts": str(folder / moment),
        }

    with transaction(sessions) as session:
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(shared_spec())).id
        repo.control(campaign_id, "start")
    record["campaign_id"] = campaign_id
    record["units"] = drain(sessions, settings, campaign_id)  # explored, selected: the gate
    record["gate"] = {**_status(sessions, campaign_id), "units": list(record["units"])}
    record["decided"] = {"0": _decide(sessions, campaign_id, 0)}
    record["units"] += drain(sessions, settings, campaign_id)  # to iteration 1's gate
    keep("reviewing")
    record["decided"]["1"] = _decide(sessions, campaign_id, 1)
    record["units"] += drain(sessions, settings, campaign_id)  # to max_iterations
    keep("finished")
    engine.dispose()
    return record


def _move_paths(engine: Engine, old: str, new: str) -> None:
    """Point every stored path (columns, and paths inside JSON) from ``old`` to ``new``."""
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, JSON):
                    value = f'replace("{column.name}"::text, :old, :new)::jsonb'
                elif isinstance(column.type, String):
                    value = f'replace("{column.name}", :old, :new)'
                else:
                    continue
                conn.execute(
                    text(
                        f'UPDATE "{table.name}" SET "{column.name}" = {value} '
                        f'WHERE strpos("{column.name}"::text, :old) > 0'
                    ),
                    {"old": old, "new": new},
                )


@dataclass(frozen=True)
class CampaignCopy:
    """A private copy of one moment of the shared campaign."""

    url: str
    artifacts: Path
    home: Path
    campaign_id: int
    record: dict[str, Any]
    sessions: sessionmaker[Session]

    @property
    def settings(self) -> WorkerSettings:
        return WorkerSettings(home=self.home, artifact_dir=self.artifacts, device="cpu")


def shared_prefix(config: pytest.Config) -> str:
    """Names of this run's shared PostgreSQL databases start with this."""
    return f"wise_al_shared_{run_uid(config)[:12]}_"


@contextmanager
def campaign_copy(
    record: dict[str, Any], moment: str, config: pytest.Config, work: Path
) -> Iterator[CampaignCopy]:
    """A new database and artifact folder (under ``work``) holding ``moment``; dropped after."""
    kept = record["moments"][moment]
    name = f"{shared_prefix(config)}copy_{uuid.uuid4().hex[:10]}"
    url = clone_database(kept["url"], name)
    artifacts = work / "artifacts"
    shutil.copytree(kept["artifacts"], artifacts)
    engine = create_db_engine(url)
    _move_paths(engine, record["artifacts"], str(artifacts))
    home, campaign_id = Path(record["home"]), record["campaign_id"]
    try:
        sessions = create_session_factory(engine)
        yield CampaignCopy(url, artifacts, home, campaign_id, record, sessions)
    finally:
        engine.dispose()
        PostgresDatabases(_admin_url(url)).drop([name])
