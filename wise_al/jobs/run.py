"""Run one planned unit of work: take its lease, do the job, record the end, advance.

The worker's tasks call :func:`run_unit` and send what it returns; nothing here knows of
Celery. A unit that fails records its failure on its domain row (through its kind's
``record_failure``) and the loop, in :func:`~wise_al.jobs.advance.advance_campaign`,
decides what that means for the campaign. Transient errors propagate so the caller
retries them, until the lease has used ``unit_max_attempts``: then they are failures too,
and no phase waits forever on a unit that will never end.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from wise_al.db.engine import transaction
from wise_al.db.models import CampaignStatus, TaskRun
from wise_al.db.repositories import CampaignRepository, TaskRunRepository
from wise_al.db.repositories.task_runs import command_of
from wise_al.errors import NotFoundError, TransientError
from wise_al.jobs.advance import advance_campaign
from wise_al.jobs.registry import UNITS
from wise_al.jobs.unit import Sessions, UnitKind
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings

#: Errors worth another try: the next attempt may find the database or broker back.
#: (An IntegrityError is not one: it is a concurrent delivery, checked where it happens,
#: or a bug that every retry would repeat.)
TRANSIENT: tuple[type[BaseException], ...] = (TransientError, OperationalError, ConnectionError)

Units = Mapping[Unit, UnitKind]


def describe(exc: BaseException) -> str:
    """The one-line head of an exception, as a lease and a domain row keep it."""
    return "".join(traceback.format_exception_only(exc)).strip()


def run_unit(
    sessions: Sessions,
    settings: WorkerSettings,
    task_run_id: int,
    worker: str | None = None,
    units: Units = UNITS,
) -> list[TaskRun]:
    """Run a lease's unit once; returns the task runs to send next.

    A campaign that is not running runs nothing (a paused campaign's unit stays queued and
    resume sends it again). A unit already done is not run again, but the campaign is still
    advanced: the delivery may be the retry of a task whose advance step failed.

    Raises
    ------
    TransientError, OperationalError, ConnectionError
        When the attempt may succeed later and the lease has attempts left.
    """
    with transaction(sessions) as session:
        leases = TaskRunRepository(session)
        try:
            lease = leases.get(task_run_id)
        except NotFoundError:
            return []
        if lease.campaign_id is None:
            return []
        campaign = CampaignRepository(session).get(lease.campaign_id)
        if campaign.status != CampaignStatus.RUNNING:
            return []
        campaign_id, command = campaign.id, command_of(lease)
        kind = units[command.unit]
        claimed = leases.claim(task_run_id, worker)
        if claimed is not None and kind.is_done(session, campaign_id, command):
            leases.settle(task_run_id)  # its outcome is recorded: a lost settle, not a rerun
            claimed = None
        elif claimed is not None and claimed.attempts > settings.unit_max_attempts:
            # every attempt so far killed its worker (or its message was lost): give up
            last = claimed.error or "its worker was lost"
            error = f"gave up after {claimed.attempts - 1} attempts: {last}"
            _fail(session, kind, task_run_id, campaign_id, command, error)
            claimed = None
    if claimed is not None:
        _run_job(sessions, settings, kind, task_run_id, campaign_id, command)
    return advance_and_plan(sessions, campaign_id)


def _fail(
    session: Session,
    kind: UnitKind,
    task_run_id: int,
    campaign_id: int,
    command: Command,
    error: str,
) -> None:
    """Settle the lease as failed and write the failure on the unit's domain row."""
    TaskRunRepository(session).settle(task_run_id, error)
    kind.record_failure(session, campaign_id, command, error)


def _run_job(
    sessions: Sessions,
    settings: WorkerSettings,
    kind: UnitKind,
    task_run_id: int,
    campaign_id: int,
    command: Command,
) -> None:
    try:
        kind.run(sessions, settings, campaign_id, command)
    except IntegrityError as exc:
        # a concurrent delivery of the same unit may have written its row first
        with transaction(sessions) as session:
            if kind.is_done(session, campaign_id, command):
                TaskRunRepository(session).settle(task_run_id)
            else:
                _fail(session, kind, task_run_id, campaign_id, command, describe(exc))
    except TRANSIENT as exc:
        with transaction(sessions) as session:
            attempts = TaskRunRepository(session).get(task_run_id).attempts
            retry = attempts < settings.unit_max_attempts
            if retry:
                TaskRunRepository(session).note_error(task_run_id, describe(exc))
            else:
                error = f"gave up after {attempts} attempts: {describe(exc)}"
                _fail(session, kind, task_run_id, campaign_id, command, error)
        if retry:
            raise
    except Exception as exc:  # deterministic: record it, never retry it
        with transaction(sessions) as session:
            _fail(session, kind, task_run_id, campaign_id, command, describe(exc))
    else:
        with transaction(sessions) as session:
            TaskRunRepository(session).settle(task_run_id)


def advance_and_plan(sessions: Sessions, campaign_id: int) -> list[TaskRun]:
    """Ask the loop to move a campaign (after a unit ends, a start, resume or review)."""
    with transaction(sessions) as session:
        return advance_campaign(session, campaign_id)
