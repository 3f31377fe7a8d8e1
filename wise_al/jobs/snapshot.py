"""Read a campaign's current iteration into the loop's :class:`~wise_al.loop.Snapshot`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from wise_al.db.models import (
    Campaign,
    Frame,
    FrameStatus,
    Iteration,
    Label,
    ModelVersion,
    Review,
    ReviewDecision,
    RunStatus,
    TaskRun,
    WalkerRun,
)
from wise_al.db.repositories import LabelRepository
from wise_al.jobs.units import unit_key
from wise_al.loop import Command, Snapshot, Unit
from wise_al.loop.advance import walker_count
from wise_al.spec import CampaignSpec

ENDED = (RunStatus.DONE, RunStatus.STOPPED_EARLY, RunStatus.FAILED)


def current_iteration(session: Session, campaign_id: int) -> Iteration | None:
    """The campaign's latest iteration."""
    return session.scalars(
        select(Iteration)
        .where(Iteration.campaign_id == campaign_id)
        .order_by(Iteration.index.desc())
        .limit(1)
    ).one_or_none()


def iteration_at(
    session: Session, campaign_id: int, index: int, *, for_update: bool = False
) -> Iteration:
    """Iteration ``index`` of a campaign (locked for update if asked)."""
    query = select(Iteration).where(Iteration.campaign_id == campaign_id, Iteration.index == index)
    return session.scalars(query.with_for_update() if for_update else query).one()


def ended_walkers(session: Session, iteration: Iteration) -> list[WalkerRun]:
    """The iteration's walkers that are done, stopped early or failed."""
    return list(
        session.scalars(
            select(WalkerRun).where(
                WalkerRun.iteration_id == iteration.id, WalkerRun.status.in_(ENDED)
            )
        )
    )


def exploration_counts(walkers: Iterable[WalkerRun]) -> dict[str, int]:
    """Saved frames per class (and ``saved``) summed over ``walkers``."""
    counts: dict[str, int] = {}
    for walker in walkers:
        for name, n in walker.frame_counts.items():
            counts[name] = counts.get(name, 0) + int(n)
    return counts


def frames_to_label(session: Session, iteration: Iteration, gate: str) -> tuple[int, ...]:
    """Selected (and, behind a review gate, accepted) frames without a finished label."""
    finished = exists().where(
        Label.frame_id == Frame.id, Label.status.in_([RunStatus.DONE, RunStatus.FAILED])
    )
    query = select(Frame.id).where(
        Frame.iteration_id == iteration.id, Frame.status == FrameStatus.SELECTED, ~finished
    )
    if gate == "required":
        accepted = exists().where(
            Review.frame_id == Frame.id, Review.decision == ReviewDecision.ACCEPT
        )
        query = query.where(accepted)
    return tuple(session.scalars(query.order_by(Frame.id)))


def _count(session: Session, query: object) -> int:
    return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def take_snapshot(session: Session, campaign: Campaign, spec: CampaignSpec) -> Snapshot:
    """Counts of the campaign's current iteration (the caller holds the campaign's lock)."""
    iteration = current_iteration(session, campaign.id)
    assert iteration is not None, "a running campaign has an iteration"
    ended = ended_walkers(session, iteration)
    counts = exploration_counts(ended)
    saved, accurate = counts.get("saved", 0), counts.get("accurate", 0)
    members = select(func.count()).where(
        ModelVersion.campaign_id == campaign.id, ModelVersion.status == RunStatus.DONE
    )
    e0s = session.scalars(
        select(TaskRun.status).where(
            TaskRun.unit_key == unit_key(campaign.id, Command(Unit.E0S, 0))
        )
    ).one_or_none()
    awaiting = select(func.count()).where(
        Frame.iteration_id == iteration.id,
        Frame.status == FrameStatus.SELECTED,
        ~exists().where(Review.frame_id == Frame.id),
    )
    failed_members = select(func.count()).where(
        TaskRun.campaign_id == campaign.id,
        TaskRun.iteration_index == iteration.index,
        TaskRun.task_name == f"wise_al.{Unit.TRAIN}",
        TaskRun.status == RunStatus.FAILED,
    )
    metrics = iteration.metrics or {}
    labels = LabelRepository(session)
    # a label task that failed outright (no label row: CP2K missing, a bug) is given up on
    gave_up = {
        run.payload.get("index")
        for run in session.scalars(
            select(TaskRun).where(
                TaskRun.campaign_id == campaign.id,
                TaskRun.iteration_index == iteration.index,
                TaskRun.task_name == f"wise_al.{Unit.LABEL}",
                TaskRun.status == RunStatus.FAILED,
            )
        )
    }
    to_label = tuple(
        f for f in frames_to_label(session, iteration, spec.review.gate) if f not in gave_up
    )
    return Snapshot(
        status=campaign.status,
        iteration=iteration.index,
        phase=iteration.phase,
        has_committee=_count(session, members.where(ModelVersion.iteration_index < iteration.index))
        > 0,
        walkers=walker_count(spec),
        walkers_finished=len(ended),
        walkers_failed=sum(1 for w in ended if w.status == RunStatus.FAILED),
        accurate_ratio=accurate / saved if saved else None,
        selected=metrics.get("selected"),
        awaiting_review=_count(session, awaiting) if spec.review.gate == "required" else 0,
        to_label=to_label,
        labels_done_iteration=labels.count_done(campaign.id, iteration.id),
        labels_total=labels.count_done(campaign.id),
        e0s_ready=e0s == RunStatus.DONE,
        e0s_failed=e0s == RunStatus.FAILED,
        members_done=_count(
            session, members.where(ModelVersion.iteration_index == iteration.index)
        ),
        members_failed=_count(session, failed_members),
        evaluated="evaluation" in metrics,
        calibrated="calibration" in metrics,
        **latest_calibration(session, campaign.id, iteration.index),
    )


def latest_calibration(session: Session, campaign_id: int, before: int) -> dict[str, Any]:
    """The verdict of the newest calibration done before iteration ``before``."""
    earlier = session.scalars(
        select(Iteration.metrics)
        .where(Iteration.campaign_id == campaign_id, Iteration.index < before)
        .order_by(Iteration.index.desc())
    )
    for metrics in earlier:
        found = (metrics or {}).get("calibration") or {}
        if found.get("status") == "done":
            verdict = "under_dispersed" if found.get("under_dispersed") else "calibrated"
            return {
                "calibration_verdict": verdict,
                "dispersion_ratio": found.get("dispersion_ratio"),
            }
    return {}
