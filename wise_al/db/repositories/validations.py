"""Queries on validations: one production-MD judgement of a committee per iteration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from wise_al.db.base import utcnow
from wise_al.db.models import RunStatus, Validation
from wise_al.db.repositories.base import Repository
from wise_al.errors import NotFoundError


class ValidationRepository(Repository[Validation]):
    """Validations of campaigns' committees against experiment."""

    model = Validation
    noun = "validation"

    def find(self, campaign_id: int, iteration_index: int) -> Validation | None:
        """The iteration's validation, if one started."""
        return self.session.scalars(
            select(Validation).where(
                Validation.campaign_id == campaign_id,
                Validation.iteration_index == iteration_index,
            )
        ).one_or_none()

    def at(self, campaign_id: int, iteration_index: int) -> Validation:
        """The iteration's validation; :class:`NotFoundError` if there is none."""
        row = self.find(campaign_id, iteration_index)
        if row is None:
            raise NotFoundError(
                f"campaign {campaign_id} has no validation of iteration {iteration_index}"
            )
        return row

    def of_campaign(self, campaign_id: int) -> Sequence[Validation]:
        """Every validation of a campaign, by iteration."""
        return self.session.scalars(
            select(Validation)
            .where(Validation.campaign_id == campaign_id)
            .order_by(Validation.iteration_index)
        ).all()

    def _row(self, campaign_id: int, iteration_index: int) -> Validation:
        row = self.find(campaign_id, iteration_index)
        if row is None:
            row = Validation(campaign_id=campaign_id, iteration_index=iteration_index)
            self.session.add(row)
        return row

    def start(
        self, campaign_id: int, iteration_index: int, parameters: dict[str, Any]
    ) -> Validation:
        """Mark the validation running (again, after a lost worker); a finished one stays."""
        row = self._row(campaign_id, iteration_index)
        if row.status not in (RunStatus.DONE, RunStatus.FAILED):
            row.status, row.parameters = RunStatus.RUNNING, parameters
        self.session.flush()
        return row

    def record(self, campaign_id: int, iteration_index: int, **outcome: Any) -> Validation:
        """Store a finished validation (observables, scores, trajectory); never twice."""
        row = self._row(campaign_id, iteration_index)
        if row.status != RunStatus.DONE:
            for key, value in outcome.items():
                setattr(row, key, value)
            row.status, row.error, row.finished_at = RunStatus.DONE, None, utcnow()
        self.session.flush()
        return row

    def record_failure(self, campaign_id: int, iteration_index: int, error: str) -> None:
        """Record why the validation failed (a success stays)."""
        row = self._row(campaign_id, iteration_index)
        if row.status != RunStatus.DONE:
            row.status, row.error, row.finished_at = RunStatus.FAILED, error, utcnow()
        self.session.flush()
