"""Task runs: one row per unit of work, written before its message is sent.

The row is the unit's identity (``unit_key`` is unique), its lease and its history. A unit
whose row is done is never run again, so a redelivered or re-sent message is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wise_al.db.base import utcnow
from wise_al.db.models import RunStatus, TaskRun
from wise_al.loop import Command, Unit

#: Which queue runs each kind of unit: GPUs explore and train, CP2K labels, the rest is cheap.
QUEUES: dict[Unit, str] = {
    Unit.EXPLORE: "gpu",
    Unit.TRAIN: "gpu",
    Unit.E0S: "dft",
    Unit.LABEL: "dft",
    Unit.CALIBRATE: "gpu",
    Unit.SELECT: "default",
    Unit.EVALUATE: "default",
}

#: Error text kept per task run: the head of a traceback says what went wrong.
MAX_ERROR_CHARS = 4000


def unit_key(campaign_id: int, command: Command) -> str:
    """The unique name of a unit of work; reference energies are shared by all iterations."""
    if command.unit == Unit.E0S:
        return f"campaign/{campaign_id}/e0s"
    key = f"campaign/{campaign_id}/iteration/{command.iteration}/{command.unit}"
    return key if command.index is None else f"{key}/{command.index}"


def payload(campaign_id: int, command: Command) -> dict[str, Any]:
    """What the task message carries (and what a restart sends again)."""
    return {
        "campaign_id": campaign_id,
        "unit": str(command.unit),
        "iteration": command.iteration,
        "index": command.index,
    }


def command_of(task_run: TaskRun) -> Command:
    """The command a task run was planned for."""
    body = task_run.payload
    return Command(Unit(body["unit"]), body["iteration"], body["index"])


def plan(session: Session, campaign_id: int, commands: Iterable[Command]) -> list[TaskRun]:
    """Rows for the commands that have none yet; returns only the new ones (to send)."""
    wanted = {unit_key(campaign_id, c): c for c in commands}
    if not wanted:
        return []
    known = set(session.scalars(select(TaskRun.unit_key).where(TaskRun.unit_key.in_(wanted))))
    new = [
        TaskRun(
            campaign_id=campaign_id,
            task_name=f"wise_al.{command.unit}",
            unit_key=key,
            queue=QUEUES[command.unit],
            iteration_index=command.iteration,
            payload=payload(campaign_id, command),
            status=RunStatus.QUEUED,
        )
        for key, command in wanted.items()
        if key not in known
    ]
    session.add_all(new)
    session.flush()
    return new


def claim(session: Session, task_run_id: int, worker: str | None = None) -> TaskRun | None:
    """Mark a task run started, or None when it is done already (a repeated delivery).

    A row found running belonged to a worker that died (acks_late redelivers only then, or
    after the visibility timeout): it is taken over, and the attempt counted.
    """
    run = session.scalars(
        select(TaskRun).where(TaskRun.id == task_run_id).with_for_update()
    ).one_or_none()
    if run is None or run.status == RunStatus.DONE:
        return None
    run.status = RunStatus.RUNNING
    run.attempts += 1
    run.worker = worker
    run.started_at = utcnow()
    session.flush()
    return run


def settle(session: Session, task_run_id: int, error: str | None = None) -> TaskRun:
    """Record the end of a task run: done, or failed with its error."""
    run = session.get_one(TaskRun, task_run_id)
    run.status = RunStatus.FAILED if error else RunStatus.DONE
    run.error = error[:MAX_ERROR_CHARS] if error else None
    run.finished_at = utcnow()
    session.flush()
    return run


def unfinished(session: Session, campaign_id: int) -> list[TaskRun]:
    """Task runs of a campaign that are queued or running: what a resume sends again."""
    return list(
        session.scalars(
            select(TaskRun)
            .where(
                TaskRun.campaign_id == campaign_id,
                TaskRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
            )
            .order_by(TaskRun.id)
        )
    )
