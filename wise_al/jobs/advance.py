"""The fan-in step: lock the campaign, ask the loop, persist its decision, plan the work.

This is the only place a campaign's status, iteration or phase changes while it runs, and
it changes them only as :func:`wise_al.loop.advance` decides.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from wise_al.db.base import utcnow
from wise_al.db.models import Campaign, CampaignStatus, Iteration, Phase, TaskRun
from wise_al.db.repositories import CampaignRepository, IterationRepository, TaskRunRepository
from wise_al.jobs.snapshot import record_exploration, take_snapshot
from wise_al.jobs.unit import campaign_spec
from wise_al.loop import Transition, advance

#: Phases one call may pass through (e.g. evaluate -> decide -> explore): more is a bug.
MAX_HOPS = 10


def _apply(session: Session, campaign: Campaign, iteration: Iteration, t: Transition) -> Iteration:
    campaign.status_reason = t.reason
    if t.status != campaign.status:
        campaign.status = t.status
    if t.iteration != iteration.index:
        iteration.phase, iteration.finished_at = Phase.DONE, utcnow()
        iteration = IterationRepository(session).create(campaign.id, t.iteration, t.phase)
    else:
        iteration.phase = t.phase
        if t.phase == Phase.DONE:
            iteration.finished_at = utcnow()
    session.flush()
    return iteration


def advance_campaign(session: Session, campaign_id: int) -> list[TaskRun]:
    """Move a running campaign as far as its counts allow.

    Holds the campaign's row lock for the whole decision, so two units finishing at once
    cannot both start the next phase. Returns the task runs planned by this call: the
    caller sends them once the transaction has committed.
    """
    campaign = CampaignRepository(session).get(campaign_id, for_update=True)
    if campaign.status != CampaignStatus.RUNNING:
        return []
    spec = campaign_spec(campaign)
    iteration = IterationRepository(session).current(campaign_id)
    assert iteration is not None, "a running campaign has an iteration"
    planned: list[TaskRun] = []
    for _ in range(MAX_HOPS):
        snapshot = take_snapshot(session, campaign, spec)
        transition = advance(snapshot, spec)
        if snapshot.phase == Phase.EXPLORE and transition.moves_from(snapshot):
            ratio = snapshot.accurate_ratio if snapshot.has_committee else None
            record_exploration(session, iteration, ratio)
        iteration = _apply(session, campaign, iteration, transition)
        planned += TaskRunRepository(session).plan(campaign_id, transition.commands)
        if not transition.moves_from(snapshot) or transition.status != CampaignStatus.RUNNING:
            break
    if campaign.status != CampaignStatus.RUNNING:
        TaskRunRepository(session).abandon_queued(
            campaign_id, f"the campaign {campaign.status}: {campaign.status_reason}"
        )
        return []
    return planned
