"""Run one planned unit of work: claim its task run, do the job, record the end, advance.

The worker's tasks call :func:`run_unit` and send what it returns; nothing here knows of
Celery. Transient errors propagate (the caller retries them); anything else is recorded
on the task run, and the loop decides what the failure means for the campaign.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from wise_al.db.engine import transaction
from wise_al.db.models import CampaignStatus, RunStatus, TaskRun, WalkerRun
from wise_al.db.repositories import CampaignRepository
from wise_al.errors import TransientError
from wise_al.jobs.advance import advance_campaign
from wise_al.jobs.calibrate import CALIBRATION_KEY, calibrate_iteration
from wise_al.jobs.explore import explore_walker
from wise_al.jobs.label import compute_e0s, label_frame
from wise_al.jobs.select import select_iteration
from wise_al.jobs.snapshot import iteration_at
from wise_al.jobs.train import evaluate_iteration, train_member
from wise_al.jobs.units import claim, command_of, settle
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings

Sessions = sessionmaker[Session]

#: Errors worth another try: the next attempt may find the database or broker back, or
#: (IntegrityError) find that a concurrent delivery already wrote the row it raced for.
TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    OperationalError,
    IntegrityError,
    ConnectionError,
)

JOBS: dict[Unit, Callable[[Sessions, WorkerSettings, int, Command], None]] = {
    Unit.EXPLORE: lambda s, cfg, c, cmd: explore_walker(s, cfg, c, cmd.iteration, _i(cmd)),
    Unit.SELECT: lambda s, cfg, c, cmd: select_iteration(s, cfg, c, cmd.iteration),
    Unit.E0S: lambda s, cfg, c, cmd: compute_e0s(s, cfg, c),
    Unit.LABEL: lambda s, cfg, c, cmd: label_frame(s, cfg, c, _i(cmd)),
    Unit.CALIBRATE: lambda s, cfg, c, cmd: calibrate_iteration(s, cfg, c, cmd.iteration),
    Unit.TRAIN: lambda s, cfg, c, cmd: train_member(s, cfg, c, cmd.iteration, _i(cmd)),
    Unit.EVALUATE: lambda s, cfg, c, cmd: evaluate_iteration(s, cfg, c, cmd.iteration),
}


def _i(command: Command) -> int:
    assert command.index is not None, f"{command.unit} needs an index"
    return command.index


def _record_failure(session: Session, campaign_id: int, command: Command, error: str) -> None:
    """What a failed unit means beyond its task run (the loop reads these rows)."""
    if command.unit == Unit.EXPLORE:
        iteration = iteration_at(session, campaign_id, command.iteration)
        walker = session.scalars(
            select(WalkerRun).where(
                WalkerRun.iteration_id == iteration.id, WalkerRun.walker_index == command.index
            )
        ).one_or_none()
        if walker is not None:
            walker.status, walker.error = RunStatus.FAILED, error
    elif command.unit == Unit.CALIBRATE:
        # the loop goes on without it: an uncalibrated committee just cannot converge
        iteration = iteration_at(session, campaign_id, command.iteration, for_update=True)
        failed = {"status": "failed", "reason": error}
        iteration.metrics = {**iteration.metrics, CALIBRATION_KEY: failed}
    elif command.unit in (Unit.SELECT, Unit.EVALUATE):
        # no counts can move past these: the campaign stops and says why
        campaign = CampaignRepository(session).get(campaign_id, for_update=True)
        campaign.status = CampaignStatus.FAILED
        campaign.status_reason = f"{command.unit} of iteration {command.iteration} failed: {error}"


def run_unit(
    sessions: Sessions, settings: WorkerSettings, task_run_id: int, worker: str | None = None
) -> list[TaskRun]:
    """Run a task run's job once; returns the task runs to send next.

    A campaign that is not running runs nothing (a paused campaign's unit stays queued and
    resume sends it again). A unit already done is not run again, but the campaign is still
    advanced: the delivery may be the retry of a task whose advance step failed.
    """
    with transaction(sessions) as session:
        run = session.get(TaskRun, task_run_id)
        if run is None or run.campaign_id is None:
            return []
        campaign = CampaignRepository(session).get(run.campaign_id)
        if campaign.status != CampaignStatus.RUNNING:
            return []
        claimed = claim(session, task_run_id, worker)
        campaign_id, command = campaign.id, command_of(run)
    if claimed is not None:
        _run_job(sessions, settings, task_run_id, campaign_id, command)
    with transaction(sessions) as session:
        return advance_campaign(session, campaign_id)


def _run_job(
    sessions: Sessions,
    settings: WorkerSettings,
    task_run_id: int,
    campaign_id: int,
    command: Command,
) -> None:
    try:
        JOBS[command.unit](sessions, settings, campaign_id, command)
    except TRANSIENT:
        raise
    except Exception as exc:  # deterministic: record it, never retry it
        error = "".join(traceback.format_exception_only(exc)).strip()
        with transaction(sessions) as session:
            settle(session, task_run_id, error)
            _record_failure(session, campaign_id, command, error)
    else:
        with transaction(sessions) as session:
            settle(session, task_run_id)


def advance_and_plan(sessions: Sessions, campaign_id: int) -> list[TaskRun]:
    """Ask the loop to move a campaign (after a start, resume or review)."""
    with transaction(sessions) as session:
        return advance_campaign(session, campaign_id)
