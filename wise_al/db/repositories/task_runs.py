"""Queries on task runs: the leases of queued units of work.

A lease is the unit's identity (``unit_key`` is unique), who holds it and how often it was
tried. A unit whose lease is done is never run again, so a redelivered or re-sent message
is harmless. What the unit produced lives on its domain row, never here.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from wise_al.db.base import utcnow
from wise_al.db.models import RunStatus, TaskRun
from wise_al.db.repositories.base import Page, Repository
from wise_al.loop import Command, Unit

#: Error text kept per lease: the head of a traceback says what went wrong.
MAX_ERROR_CHARS = 4000
UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING)


def unit_key(campaign_id: int, command: Command) -> str:
    """The unique name of a unit of work; reference energies are shared by all iterations."""
    if command.unit == Unit.E0S:
        return f"campaign/{campaign_id}/e0s"
    key = f"campaign/{campaign_id}/iteration/{command.iteration}/{command.unit}"
    return key if command.index is None else f"{key}/{command.index}"


def command_of(run: TaskRun) -> Command:
    """The command a lease was planned for."""
    return Command(Unit(run.unit), run.iteration_index or 0, run.unit_index)


class TaskRunRepository(Repository[TaskRun]):
    """Leases of units of work."""

    model = TaskRun
    noun = "task run"

    def plan(self, campaign_id: int, commands: Iterable[Command]) -> list[TaskRun]:
        """Leases for the commands that have none yet; returns only the new ones (to send)."""
        wanted = {unit_key(campaign_id, c): c for c in commands}
        if not wanted:
            return []
        known = set(
            self.session.scalars(select(TaskRun.unit_key).where(TaskRun.unit_key.in_(wanted)))
        )
        new = [
            TaskRun(
                campaign_id=campaign_id,
                unit=str(command.unit),
                unit_key=key,
                iteration_index=command.iteration,
                unit_index=command.index,
                status=RunStatus.QUEUED,
            )
            for key, command in wanted.items()
            if key not in known
        ]
        self.session.add_all(new)
        self.session.flush()
        return new

    def claim(self, task_run_id: int, worker: str | None = None) -> TaskRun | None:
        """Take the lease and count the attempt, or None when it is settled already.

        A lease found running belonged to a worker that died (acks_late redelivers only
        then, or after the visibility timeout): it is taken over, and the attempt counted.
        """
        run = self.session.scalars(
            select(TaskRun).where(TaskRun.id == task_run_id).with_for_update()
        ).one_or_none()
        if run is None or run.status not in UNFINISHED:
            return None
        run.status = RunStatus.RUNNING
        run.attempts += 1
        run.worker = worker
        run.started_at = utcnow()
        self.session.flush()
        return run

    def settle(self, task_run_id: int, error: str | None = None) -> TaskRun:
        """End a lease: done, or failed with its error (the domain row says what it means)."""
        run = self.get(task_run_id, for_update=True)
        run.status = RunStatus.FAILED if error else RunStatus.DONE
        run.error = error[:MAX_ERROR_CHARS] if error else None
        run.finished_at = utcnow()
        self.session.flush()
        return run

    def note_error(self, task_run_id: int, error: str) -> None:
        """Keep the error of an attempt that will be retried (the lease stays running)."""
        self.get(task_run_id).error = error[:MAX_ERROR_CHARS]
        self.session.flush()

    def abandon_queued(self, campaign_id: int, reason: str) -> int:
        """Fail every lease of a campaign still queued (the campaign ended: none will run).

        Running leases are left to their units, which stop themselves (they ask whether the
        campaign still runs) and settle their own lease. Returns how many were abandoned.
        """
        queued = self.session.scalars(
            select(TaskRun).where(
                TaskRun.campaign_id == campaign_id, TaskRun.status == RunStatus.QUEUED
            )
        ).all()
        for run in queued:
            run.status, run.finished_at = RunStatus.FAILED, utcnow()
            run.error = f"not run: {reason}"[:MAX_ERROR_CHARS]
        self.session.flush()
        return len(queued)

    def unfinished(self, campaign_id: int) -> list[TaskRun]:
        """Leases of a campaign that are queued or running: what a resume sends again."""
        return list(
            self.session.scalars(
                select(TaskRun)
                .where(TaskRun.campaign_id == campaign_id, TaskRun.status.in_(UNFINISHED))
                .order_by(TaskRun.id)
            )
        )

    def page(
        self, campaign_id: int, status: RunStatus | None, limit: int, offset: int
    ) -> Page[TaskRun]:
        """A page of a campaign's leases, oldest first, optionally of one status."""
        query = select(TaskRun).where(TaskRun.campaign_id == campaign_id).order_by(TaskRun.id)
        if status is not None:
            query = query.where(TaskRun.status == status)
        return self.paginate(query, limit, offset)
