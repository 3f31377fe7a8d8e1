"""Read a campaign's current iteration into the loop's :class:`~wise_al.loop.Snapshot`.

Every count comes from the units' domain rows (walker runs, labels, model versions,
reference energies, the iteration's metrics), never from task runs: a lease says who ran
a unit, the domain row says what came of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from wise_al.campaign_spec import CampaignSpec
from wise_al.db.models import Campaign, Iteration, LabelProvenance, RunStatus, WalkerRun
from wise_al.db.repositories import (
    FrameRepository,
    IterationRepository,
    LabelRepository,
    ModelVersionRepository,
    ReferenceEnergiesRepository,
    ValidationRepository,
    WalkerRunRepository,
)
from wise_al.db.repositories.iterations import FAILURES_KEY
from wise_al.jobs.outcomes import CALIBRATION_KEY, EVALUATION_KEY, verdict_of
from wise_al.jobs.seed import SEEDED_KEY
from wise_al.jobs.select import SELECTED_KEY
from wise_al.loop import Snapshot, Unit
from wise_al.loop.advance import walker_count
from wise_al.observables.scores import observable_values


def exploration_counts(walkers: Iterable[WalkerRun]) -> dict[str, int]:
    """Saved frames per class (and ``saved``) summed over ``walkers``."""
    counts: dict[str, int] = {}
    for walker in walkers:
        for name, n in walker.frame_counts.items():
            counts[name] = counts.get(name, 0) + int(n)
    return counts


def take_snapshot(session: Session, campaign: Campaign, spec: CampaignSpec) -> Snapshot:
    """Counts of the campaign's current iteration (the caller holds the campaign's lock)."""
    iteration = IterationRepository(session).current(campaign.id)
    assert iteration is not None, "a running campaign has an iteration"
    ended = WalkerRunRepository(session).ended(iteration.id)
    counts = exploration_counts(ended)
    saved, accurate = counts.get("saved", 0), counts.get("accurate", 0)
    models, labels, frames = (
        ModelVersionRepository(session),
        LabelRepository(session),
        FrameRepository(session),
    )
    e0s = ReferenceEnergiesRepository(session).find(campaign.id)
    metrics = iteration.metrics or {}
    failures = metrics.get(FAILURES_KEY, {})
    member_errors = tuple(
        str(m.error)
        for m in models.committee(campaign.id, iteration.index)
        if m.status == RunStatus.FAILED
    )
    return Snapshot(
        status=campaign.status,
        iteration=iteration.index,
        phase=iteration.phase,
        has_committee=models.trained_before(campaign.id, iteration.index),
        walkers=walker_count(spec),
        walkers_finished=len(ended),
        walkers_failed=sum(1 for w in ended if w.status == RunStatus.FAILED),
        walker_error=next(
            (str(w.error) for w in ended if w.status == RunStatus.FAILED and w.error), None
        ),
        accurate_ratio=accurate / saved if saved else None,
        selected=metrics.get(SELECTED_KEY),
        selection_failed=failures.get(Unit.SELECT),
        awaiting_review=frames.awaiting_review(iteration.id)
        if spec.review.gate == "required"
        else 0,
        to_label=frames.to_label(iteration.id, spec.review.gate),
        labels_done_iteration=labels.count_done(campaign.id, iteration.id),
        labels_total=labels.count_done(campaign.id, provenance=LabelProvenance.CP2K),
        seeded=SEEDED_KEY in metrics,
        seed_failed=failures.get(Unit.SEED) or failures.get(Unit.PACK),
        e0s_ready=e0s is not None and e0s.status == RunStatus.DONE,
        e0s_failed=e0s.error if e0s is not None and e0s.status == RunStatus.FAILED else None,
        members_done=models.count(campaign.id, RunStatus.DONE, iteration.index),
        members_failed=member_errors,
        evaluated=EVALUATION_KEY in metrics,
        evaluation_failed=failures.get(Unit.EVALUATE),
        calibrated=CALIBRATION_KEY in metrics,
        **latest_calibration(session, campaign.id, iteration.index),
        **validation_outcome(session, campaign.id, iteration.index),
        explorer_broke=broken_validation(session, campaign.id, iteration.index - 1),
    )


def broken_validation(session: Session, campaign_id: int, iteration_index: int) -> str | None:
    """How iteration ``iteration_index``'s validation MD broke ("step N: why"), or None."""
    row = ValidationRepository(session).find(campaign_id, iteration_index)
    if row is None or row.status != RunStatus.DONE or "broke_at_step" not in row.observables:
        return None
    return f"step {row.observables['broke_at_step']}: {row.observables.get('broke_because', '')}"


def validation_outcome(session: Session, campaign_id: int, iteration_index: int) -> dict[str, Any]:
    """Whether the iteration's validation ended, why it failed, and what it measured."""
    row = ValidationRepository(session).find(campaign_id, iteration_index)
    if row is None or row.status not in (RunStatus.DONE, RunStatus.FAILED):
        return {}
    if row.status == RunStatus.FAILED:
        return {"validated": True, "validation_failed": row.error or "failed"}
    measured = observable_values(row.observables)
    return {"validated": True, "observables": tuple(sorted(measured.items()))}


def latest_calibration(session: Session, campaign_id: int, before: int) -> dict[str, Any]:
    """The verdict of the newest calibration done before iteration ``before``."""
    for metrics in IterationRepository(session).metrics_before(campaign_id, before):
        found = metrics.get(CALIBRATION_KEY) or {}
        verdict = verdict_of(found)
        if verdict is not None:
            return {
                "calibration_verdict": verdict,
                "dispersion_ratio": found.get("dispersion_ratio"),
                "calibration_reason": found.get("uncalibrated_because"),
            }
    return {}


def record_exploration(
    session: Session, iteration: Iteration, accurate_ratio: float | None
) -> None:
    """Keep what an iteration's exploration saw, once it is over."""
    ended = WalkerRunRepository(session).ended(iteration.id)
    # how long the potential stayed physical: walkers stop at their first flagged frame
    stopped = [w.steps_done for w in ended if w.status == RunStatus.STOPPED_EARLY]
    summary = {
        **exploration_counts(ended),
        "accurate_ratio": accurate_ratio,
        "md_steps": sum(w.steps_done for w in ended),
        "first_flag_step": min(stopped) if stopped else None,
    }
    IterationRepository(session).record(iteration.campaign_id, iteration.index, exploration=summary)
