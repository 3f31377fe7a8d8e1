"""Queries on iterations: the current one, one by number, and the outcomes they hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from wise_al.db.models import Iteration
from wise_al.db.repositories.base import Repository
from wise_al.errors import NotFoundError

#: Where an iteration keeps why one of its whole-iteration units failed (unit -> error).
FAILURES_KEY = "failures"


class IterationRepository(Repository[Iteration]):
    """Iterations of campaigns."""

    model = Iteration
    noun = "iteration"

    def create(self, campaign_id: int, index: int, phase: str) -> Iteration:
        """A new iteration of a campaign, in ``phase``."""
        iteration = Iteration(campaign_id=campaign_id, index=index, phase=phase)
        self.session.add(iteration)
        return iteration

    def current(self, campaign_id: int) -> Iteration | None:
        """The campaign's latest iteration."""
        return self.session.scalars(
            select(Iteration)
            .where(Iteration.campaign_id == campaign_id)
            .order_by(Iteration.index.desc())
            .limit(1)
        ).one_or_none()

    def at(self, campaign_id: int, index: int, *, for_update: bool = False) -> Iteration:
        """Iteration ``index`` of a campaign (locked if asked)."""
        query = select(Iteration).where(
            Iteration.campaign_id == campaign_id, Iteration.index == index
        )
        found = self.session.scalars(query.with_for_update() if for_update else query)
        iteration = found.one_or_none()
        if iteration is None:
            raise NotFoundError(f"campaign {campaign_id} has no iteration {index}")
        return iteration

    def of_campaign(self, campaign_id: int) -> list[Iteration]:
        """Every iteration of a campaign, oldest first."""
        return list(
            self.session.scalars(
                select(Iteration)
                .where(Iteration.campaign_id == campaign_id)
                .order_by(Iteration.index)
            )
        )

    def record(self, campaign_id: int, index: int, **metrics: Any) -> Iteration:
        """Merge ``metrics`` into an iteration's metrics, under its row lock."""
        iteration = self.at(campaign_id, index, for_update=True)
        iteration.metrics = {**(iteration.metrics or {}), **metrics}
        self.session.flush()
        return iteration

    def record_failure(self, campaign_id: int, index: int, unit: str, error: str) -> None:
        """Keep why a whole-iteration unit (selection, evaluation) failed."""
        iteration = self.at(campaign_id, index, for_update=True)
        failures = dict((iteration.metrics or {}).get(FAILURES_KEY, {}))
        failures[unit] = error
        iteration.metrics = {**(iteration.metrics or {}), FAILURES_KEY: failures}
        self.session.flush()

    def metrics_before(self, campaign_id: int, before: int) -> list[dict[str, Any]]:
        """Metrics of the iterations before ``before``, newest first."""
        return [
            metrics or {}
            for metrics in self.session.scalars(
                select(Iteration.metrics)
                .where(Iteration.campaign_id == campaign_id, Iteration.index < before)
                .order_by(Iteration.index.desc())
            )
        ]
