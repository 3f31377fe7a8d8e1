"""Read-only summaries for people looking at campaigns: counts, spans and histograms.

Each method is a handful of grouped queries, so a page costs the same with 100 frames or
100 000 (see benchmarks/dashboard.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, func, select

from wise_al.db.models import (
    Campaign,
    Frame,
    FrameFlag,
    FrameStatus,
    Iteration,
    Label,
    Review,
    RunStatus,
    TaskRun,
    WalkerRun,
)
from wise_al.db.repositories.base import Repository


@dataclass
class CampaignSummary:
    """A campaign's row in the list of campaigns."""

    campaign: Campaign
    iterations: int = 0
    phase: str | None = None
    frames: int = 0
    labels_done: int = 0


@dataclass(frozen=True)
class UnitSpan:
    """When the units of one kind ran in one iteration (e.g. every label of iteration 2)."""

    iteration_index: int
    unit: str
    started_at: datetime
    finished_at: datetime | None
    units: int
    failed: int


@dataclass
class IterationSummary:
    """One iteration as the campaign page shows it."""

    iteration: Iteration
    frame_status: dict[str, int] = field(default_factory=dict)
    labels_done: int = 0
    histogram: list[int] | None = None


class OverviewRepository(Repository[Campaign]):
    """Summaries of campaigns for the dashboard."""

    model = Campaign
    noun = "campaign"

    def campaigns(self, limit: int = 200) -> list[CampaignSummary]:
        """The newest campaigns with their latest iteration, frame and label counts."""
        campaigns = list(
            self.session.scalars(
                select(Campaign)
                .order_by(Campaign.created_at.desc(), Campaign.id.desc())
                .limit(limit)
            )
        )
        summaries = {c.id: CampaignSummary(c) for c in campaigns}
        ids = list(summaries)
        latest = (
            select(Iteration.campaign_id, func.max(Iteration.index).label("n"))
            .where(Iteration.campaign_id.in_(ids))
            .group_by(Iteration.campaign_id)
            .subquery()
        )
        for campaign_id, index, phase in self.session.execute(
            select(Iteration.campaign_id, Iteration.index, Iteration.phase).join(
                latest,
                (Iteration.campaign_id == latest.c.campaign_id) & (Iteration.index == latest.c.n),
            )
        ):
            summaries[campaign_id].iterations = index + 1
            summaries[campaign_id].phase = str(phase)
        for campaign_id, n in self.session.execute(
            select(Frame.campaign_id, func.count())
            .where(Frame.campaign_id.in_(ids))
            .group_by(Frame.campaign_id)
        ):
            summaries[campaign_id].frames = n
        for campaign_id, n in self.session.execute(
            select(Frame.campaign_id, func.count())
            .select_from(Label)
            .join(Frame, Frame.id == Label.frame_id)
            .where(Frame.campaign_id.in_(ids), Label.status == RunStatus.DONE)
            .group_by(Frame.campaign_id)
        ):
            summaries[campaign_id].labels_done = n
        return list(summaries.values())

    def iterations(self, campaign_id: int) -> list[IterationSummary]:
        """Every iteration with frames per status, labels done and its deviation histogram."""
        rows = {
            it.id: IterationSummary(it)
            for it in self.session.scalars(
                select(Iteration)
                .where(Iteration.campaign_id == campaign_id)
                .order_by(Iteration.index)
            )
        }
        for iteration_id, status, n in self.session.execute(
            select(Frame.iteration_id, Frame.status, func.count())
            .where(Frame.campaign_id == campaign_id)
            .group_by(Frame.iteration_id, Frame.status)
        ):
            rows[iteration_id].frame_status[str(status)] = n
        for iteration_id, n in self.session.execute(
            select(Frame.iteration_id, func.count())
            .select_from(Label)
            .join(Frame, Frame.id == Label.frame_id)
            .where(Frame.campaign_id == campaign_id, Label.status == RunStatus.DONE)
            .group_by(Frame.iteration_id)
        ):
            rows[iteration_id].labels_done = n
        for iteration_id, histogram in self.session.execute(
            select(WalkerRun.iteration_id, WalkerRun.deviation_histogram).where(
                WalkerRun.iteration_id.in_(list(rows)), WalkerRun.deviation_histogram.is_not(None)
            )
        ):
            row = rows[iteration_id]
            row.histogram = [
                a + b for a, b in zip(row.histogram or [0] * len(histogram), histogram, strict=True)
            ]
        return list(rows.values())

    def iteration_indices(self, campaign_id: int) -> dict[int, int]:
        """Iteration number by iteration id."""
        return dict(
            self.session.execute(
                select(Iteration.id, Iteration.index).where(Iteration.campaign_id == campaign_id)
            ).all()
        )

    def unit_spans(self, campaign_id: int) -> list[UnitSpan]:
        """Start and end of every kind of unit per iteration: the campaign's timeline."""
        failed = func.sum(func.cast(TaskRun.status == RunStatus.FAILED, Integer))
        rows = self.session.execute(
            select(
                TaskRun.iteration_index,
                TaskRun.unit,
                func.min(func.coalesce(TaskRun.started_at, TaskRun.queued_at)),
                func.max(TaskRun.finished_at),
                func.count(),
                failed,
                func.count(TaskRun.finished_at),
            )
            .where(TaskRun.campaign_id == campaign_id, TaskRun.iteration_index.is_not(None))
            .group_by(TaskRun.iteration_index, TaskRun.unit)
            .order_by(TaskRun.iteration_index, func.min(TaskRun.queued_at))
        )
        return [
            UnitSpan(index, name, start, end if finished == units else None, units, int(bad or 0))
            for index, name, start, end, units, bad, finished in rows
        ]

    def active_runs(self, campaign_id: int | None = None, limit: int = 50) -> list[TaskRun]:
        """Units queued or running now (of one campaign, or all), oldest first."""
        query = select(TaskRun).where(TaskRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))
        if campaign_id is not None:
            query = query.where(TaskRun.campaign_id == campaign_id)
        return list(self.session.scalars(query.order_by(TaskRun.queued_at).limit(limit)))

    def review_counts(self, campaign_id: int, gate: str = "required") -> dict[str, int]:
        """Frames waiting for a decision, accepted and rejected: the review queue's tabs.

        With the review gate ``auto`` no frame waits for anyone: selected frames go straight
        to labelling, so none is counted as waiting.
        """
        reviewed = select(Review.frame_id).join(Frame, Frame.id == Review.frame_id)
        waiting = self.session.scalar(
            select(func.count())
            .select_from(Frame)
            .where(
                Frame.campaign_id == campaign_id,
                Frame.status == FrameStatus.SELECTED,
                Frame.id.not_in(reviewed.where(Frame.campaign_id == campaign_id)),
            )
        )
        decisions = dict(
            self.session.execute(
                select(Review.decision, func.count())
                .join(Frame, Frame.id == Review.frame_id)
                .where(Frame.campaign_id == campaign_id)
                .group_by(Review.decision)
            ).all()
        )
        waiting = waiting if gate == "required" else 0
        return {"waiting": int(waiting or 0), **{str(k): int(v) for k, v in decisions.items()}}

    def flag_kinds(self, campaign_id: int) -> list[str]:
        """Flag kinds raised in a campaign (the queue's filter choices)."""
        return list(
            self.session.scalars(
                select(FrameFlag.kind)
                .join(Frame, Frame.id == FrameFlag.frame_id)
                .where(Frame.campaign_id == campaign_id)
                .distinct()
                .order_by(FrameFlag.kind)
            )
        )
