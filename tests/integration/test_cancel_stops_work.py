"""Cancelling a campaign ends its running units: MD mid-walk, MACE training mid-epoch.

Real units on the demo foundation (MD on CPU, CP2K xTB labels, mace's trainer in its own
process), each run in a thread as a worker would, and the campaign cancelled under it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.loop_fixtures import small_campaign
from wise_al.campaign_spec import parse_spec
from wise_al.db.engine import transaction
from wise_al.db.models import Frame, ModelVersion, RunStatus, TaskRun, WalkerRun
from wise_al.db.repositories import CampaignRepository
from wise_al.db.repositories.task_runs import command_of
from wise_al.jobs.run import advance_and_plan, run_unit
from wise_al.settings import WorkerSettings

pytestmark = [
    needs_cp2k,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.slow,
]


def _start(sessions: sessionmaker[Session], **overrides: object) -> int:
    with transaction(sessions) as session:
        campaigns = CampaignRepository(session)
        campaign_id = campaigns.create(parse_spec(small_campaign(**overrides))).id
        campaigns.control(campaign_id, "start")
    return campaign_id


def _run_until(
    sessions: sessionmaker[Session], settings: WorkerSettings, campaign_id: int, unit: str
) -> TaskRun:
    """Run planned units in order until one of kind ``unit`` is next; return its lease."""
    queue = advance_and_plan(sessions, campaign_id)
    while queue[0].unit != unit:
        run = queue.pop(0)
        queue += run_unit(sessions, settings, run.id, "inline")
    return queue[0]


def _cancel_while_running(
    sessions: sessionmaker[Session],
    settings: WorkerSettings,
    campaign_id: int,
    lease: TaskRun,
    started: Path,
) -> float:
    """Run ``lease`` in a thread, cancel once ``started`` exists; seconds it took to end."""
    worker = threading.Thread(target=run_unit, args=(sessions, settings, lease.id, "t"))
    worker.start()
    deadline = time.monotonic() + 300
    while not started.exists() and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker.is_alive(), "the unit ended before it could be cancelled"
    with transaction(sessions) as session:
        CampaignRepository(session).control(campaign_id, "cancel")
    cancelled_at = time.monotonic()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the unit ran on after its campaign was cancelled"
    return time.monotonic() - cancelled_at


def test_cancelling_stops_a_walker_mid_md_and_keeps_nothing_of_it(
    session_factory: sessionmaker[Session], demo_home: Path, tmp_path: Path
) -> None:
    settings = WorkerSettings(home=demo_home, artifact_dir=tmp_path / "artifacts", device="cpu")
    campaign_id = _start(session_factory, **{"exploration.steps_per_iteration": [1_000_000]})
    lease = _run_until(session_factory, settings, campaign_id, "explore")
    trajectory = tmp_path / "artifacts" / "campaigns" / str(campaign_id) / "iteration-0"
    took_s = _cancel_while_running(
        session_factory, settings, campaign_id, lease, trajectory / "walker-0.extxyz"
    )
    assert took_s < 30  # a million steps would take hours
    assert not (trajectory / "walker-0.extxyz").exists()
    with session_factory() as session:
        run = session.scalars(select(WalkerRun)).one()
        assert run.status == RunStatus.FAILED and "cancelled" in str(run.error)
        assert session.scalar(select(func.count()).select_from(Frame)) == 0
        assert session.get_one(TaskRun, lease.id).status != RunStatus.RUNNING


def test_cancelling_stops_training_and_leaves_no_model(
    session_factory: sessionmaker[Session], demo_home: Path, tmp_path: Path
) -> None:
    settings = WorkerSettings(home=demo_home, artifact_dir=tmp_path / "artifacts", device="cpu")
    campaign_id = _start(session_factory, **{"model.training.max_num_epochs": 100_000})
    lease = _run_until(session_factory, settings, campaign_id, "train")
    work = tmp_path / "artifacts" / "campaigns" / str(campaign_id) / "iteration-0" / "train"
    member = command_of(lease).index
    took_s = _cancel_while_running(
        session_factory,
        settings,
        campaign_id,
        lease,
        work / f"member{member}" / f"member{member}.log",
    )
    assert took_s < 30
    assert not (work / f"member{member}").exists(), "a stopped member left its checkpoints"
    assert not list(work.glob("**/*.model"))
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ModelVersion)) == 0
        assert session.get_one(TaskRun, lease.id).status != RunStatus.RUNNING
