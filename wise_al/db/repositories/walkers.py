"""Queries on walker runs: the explored trajectories of an iteration."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from wise_al.db.models import RunStatus, WalkerRun
from wise_al.db.repositories.base import Repository

ENDED = (RunStatus.DONE, RunStatus.STOPPED_EARLY, RunStatus.FAILED)
SUCCEEDED = (RunStatus.DONE, RunStatus.STOPPED_EARLY)


class WalkerRunRepository(Repository[WalkerRun]):
    """Walker runs of iterations, one per walker index."""

    model = WalkerRun
    noun = "walker run"

    def find(self, iteration_id: int, walker_index: int) -> WalkerRun | None:
        """Walker ``walker_index`` of an iteration, if it was started."""
        return self.session.scalars(
            select(WalkerRun).where(
                WalkerRun.iteration_id == iteration_id, WalkerRun.walker_index == walker_index
            )
        ).one_or_none()

    def _find_or_add(
        self, iteration_id: int, walker_index: int, conditions: dict[str, Any], seed: int
    ) -> WalkerRun:
        """The walker's row, created if missing.

        A concurrent delivery that inserted the row first wins the unique constraint: the
        insert runs in a savepoint, and the row it wrote is used instead.
        """
        run = self.find(iteration_id, walker_index)
        if run is not None:
            return run
        run = WalkerRun(
            iteration_id=iteration_id, walker_index=walker_index, conditions=conditions, seed=seed
        )
        try:
            with self.session.begin_nested():
                self.session.add(run)
        except IntegrityError:
            run = self.find(iteration_id, walker_index)
            assert run is not None, "the walker row that won the race is visible"
        return run

    def start(
        self, iteration_id: int, walker_index: int, conditions: dict[str, Any], seed: int
    ) -> WalkerRun:
        """The walker's row, created on first start; set running again on a restart."""
        run = self._find_or_add(iteration_id, walker_index, conditions, seed)
        run.status, run.error = RunStatus.RUNNING, None
        self.session.flush()
        return run

    def record_failure(
        self,
        iteration_id: int,
        walker_index: int,
        conditions: dict[str, Any],
        seed: int,
        error: str,
    ) -> None:
        """Mark a walker failed with its error; a walker that finished stays finished."""
        run = self._find_or_add(iteration_id, walker_index, conditions, seed)
        if run.status not in SUCCEEDED:
            run.status, run.error = RunStatus.FAILED, error
        self.session.flush()

    def ended(self, iteration_id: int) -> list[WalkerRun]:
        """An iteration's walkers that are done, stopped early or failed."""
        return list(
            self.session.scalars(
                select(WalkerRun).where(
                    WalkerRun.iteration_id == iteration_id, WalkerRun.status.in_(ENDED)
                )
            )
        )
