"""Queries on campaigns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from sqlalchemy import func, select

from wise_al.db.models import Campaign, CampaignStatus, Iteration, Phase
from wise_al.db.repositories.base import Repository
from wise_al.errors import ConflictError, NotFoundError
from wise_al.spec import CampaignSpec, dump_spec

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, with the total count for pagers."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CampaignRepository(Repository):
    """Create, read and delete campaigns."""

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

    def get(self, campaign_id: int, *, for_update: bool = False) -> Campaign:
        """The campaign with this id; raises :class:`NotFoundError` if there is none."""
        query = select(Campaign).where(Campaign.id == campaign_id)
        if for_update:
            query = query.with_for_update()
        campaign = self.session.scalars(query).one_or_none()
        if campaign is None:
            raise NotFoundError(f"campaign {campaign_id} does not exist")
        return campaign

    def list(
        self, *, limit: int = 50, offset: int = 0, status: CampaignStatus | None = None
    ) -> Page[Campaign]:
        """Campaigns, newest first."""
        query = select(Campaign)
        count = select(func.count()).select_from(Campaign)
        if status is not None:
            query = query.where(Campaign.status == status)
            count = count.where(Campaign.status == status)
        items = self.session.scalars(
            query.order_by(Campaign.id.desc()).limit(limit).offset(offset)
        ).all()
        return Page(list(items), self.session.scalar(count) or 0, limit, offset)

    def delete_draft(self, campaign_id: int) -> None:
        """Delete a campaign that has not started; anything else is a :class:`ConflictError`."""
        campaign = self.get(campaign_id, for_update=True)
        if campaign.status != CampaignStatus.DRAFT:
            raise ConflictError(
                f"campaign {campaign_id} is {campaign.status}; only drafts can be deleted "
                "(cancel it instead)"
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
            self.session.add(Iteration(campaign_id=campaign.id, index=0, phase=Phase.EXPLORE))
        self.session.flush()
        return campaign
