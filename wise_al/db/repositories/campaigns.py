"""Queries on campaigns."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import select

from wise_al.campaign_spec import CampaignSpec, dump_spec
from wise_al.db.models import Campaign, CampaignStatus, Iteration
from wise_al.db.repositories.base import Page, Repository
from wise_al.db.repositories.task_runs import TaskRunRepository
from wise_al.errors import ConflictError
from wise_al.loop import first_phase


class CampaignRepository(Repository[Campaign]):
    """Create, read and delete campaigns."""

    model = Campaign
    noun = "campaign"

    def create(self, spec: CampaignSpec, created_by: str | None = None) -> Campaign:
        """Store a validated spec (defaults filled in) as a new draft campaign."""
        campaign = Campaign(
            name=spec.name,
            status=CampaignStatus.DRAFT,
            schema_version=spec.schema_version,
            spec=dump_spec(spec),
            created_by=created_by,
        )
        self.session.add(campaign)
        self.session.flush()
        return campaign

    def list(
        self, *, limit: int = 50, offset: int = 0, status: CampaignStatus | None = None
    ) -> Page[Campaign]:
        """Campaigns, newest first."""
        query = select(Campaign).order_by(Campaign.id.desc())
        if status is not None:
            query = query.where(Campaign.status == status)
        return self.paginate(query, limit, offset)

    def ids_with_status(self, status: CampaignStatus) -> tuple[int, ...]:
        """Ids of every campaign with this status, oldest first."""
        return tuple(
            self.session.scalars(
                select(Campaign.id).where(Campaign.status == status).order_by(Campaign.id)
            )
        )

    def delete_draft(self, campaign_id: int) -> None:
        """Delete a campaign that has not started; anything else is a :class:`ConflictError`.

        A study's campaign is refused too: the study would silently lose that variant
        (delete or cancel the study's campaigns through the study instead).
        """
        campaign = self.get(campaign_id, for_update=True)
        if campaign.status != CampaignStatus.DRAFT:
            raise ConflictError(
                f"campaign {campaign_id} is {campaign.status}; only drafts can be deleted "
                "(cancel it instead)"
            )
        if campaign.study_id is not None:
            raise ConflictError(
                f"campaign {campaign_id} is variant {campaign.study_variant!r} of study "
                f"{campaign.study_id}; deleting it would drop that variant from the study"
            )
        self.session.delete(campaign)
        self.session.flush()

    #: action -> (statuses it applies to, status it leads to)
    ACTIONS: ClassVar[dict[str, tuple[tuple[CampaignStatus, ...], CampaignStatus]]] = {
        "start": ((CampaignStatus.DRAFT,), CampaignStatus.RUNNING),
        "pause": ((CampaignStatus.RUNNING,), CampaignStatus.PAUSED),
        "resume": ((CampaignStatus.PAUSED, CampaignStatus.RUNNING), CampaignStatus.RUNNING),
        "cancel": (
            (CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED),
            CampaignStatus.CANCELLED,
        ),
    }

    def control(self, campaign_id: int, action: str, by: str | None = None) -> Campaign:
        """Start, pause, resume or cancel; an action that does not apply is a ConflictError.

        Resuming a running campaign is allowed: it is how work lost by a restart is sent
        again. Starting creates iteration 0.
        """
        campaign = self.get(campaign_id, for_update=True)
        allowed, target = self.ACTIONS[action]
        if campaign.status not in allowed:
            raise ConflictError(
                f"campaign {campaign_id} is {campaign.status}: cannot {action} it "
                f"(only when {' or '.join(map(str, allowed))})"
            )
        campaign.status = target
        campaign.status_reason = f"{action} by {by or 'a user'}"
        if action == "start":
            phase = first_phase(CampaignSpec.model_validate(campaign.spec))
            self.session.add(Iteration(campaign_id=campaign.id, index=0, phase=phase))
        if action == "cancel":  # queued work will never run; running units stop themselves
            TaskRunRepository(self.session).abandon_queued(campaign_id, campaign.status_reason)
        self.session.flush()
        return campaign
