"""Queries on studies: their campaigns, and the sums a side-by-side comparison needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select

from wise_al.db.models import (
    Campaign,
    Frame,
    Iteration,
    Label,
    LabelProvenance,
    RunStatus,
    Study,
    TaskRun,
)
from wise_al.db.repositories.base import Page, Repository


class StudyRepository(Repository[Study]):
    """Studies and their variant campaigns."""

    model = Study
    noun = "study"

    def create(self, name: str, spec: dict[str, Any], created_by: str | None) -> Study:
        """A new study of ``spec`` (as JSON); its campaigns are created by the caller."""
        study = Study(name=name, spec=spec, created_by=created_by)
        self.session.add(study)
        self.session.flush()
        return study

    def page(self, limit: int, offset: int) -> Page[Study]:
        return self.paginate(select(Study).order_by(Study.id.desc()), limit, offset)

    def campaigns(self, study_id: int) -> Sequence[Campaign]:
        """The study's campaigns, in the order they were created (the spec's order)."""
        return self.session.scalars(
            select(Campaign).where(Campaign.study_id == study_id).order_by(Campaign.id)
        ).all()

    def labels_by_iteration(self, campaign_id: int) -> dict[int, dict[str, int]]:
        """Iteration index -> successful labels of its frames, by provenance."""
        rows = self.session.execute(
            select(Iteration.index, Label.provenance, func.count())
            .join(Frame, Frame.iteration_id == Iteration.id)
            .join(Label, Label.frame_id == Frame.id)
            .where(Iteration.campaign_id == campaign_id, Label.status == RunStatus.DONE)
            .group_by(Iteration.index, Label.provenance)
        )
        counts: dict[int, dict[str, int]] = {}
        for index, provenance, n in rows:
            counts.setdefault(int(index), {})[str(provenance)] = int(n)
        return counts

    def dft_seconds(self, campaign_id: int) -> float:
        """Wall time CP2K spent on the campaign's labels (imported ones cost nothing here)."""
        total = self.session.scalar(
            select(func.sum(Label.wall_time_s))
            .join(Frame, Frame.id == Label.frame_id)
            .where(Frame.campaign_id == campaign_id, Label.provenance == LabelProvenance.CP2K)
        )
        return float(total or 0.0)

    def unit_seconds(self, campaign_id: int, units: Iterable[str]) -> float:
        """Wall time of the campaign's finished units of these kinds (leases' start to end)."""
        runs = self.session.execute(
            select(TaskRun.started_at, TaskRun.finished_at).where(
                TaskRun.campaign_id == campaign_id,
                TaskRun.unit.in_(list(units)),
                TaskRun.started_at.is_not(None),
                TaskRun.finished_at.is_not(None),
            )
        )
        return sum((end - start).total_seconds() for start, end in runs if start and end)
