"""Repositories on both backends: campaigns and tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import example_spec, with_value
from wise_al.campaign_spec import dump_spec, parse_spec
from wise_al.db.engine import transaction
from wise_al.db.models import ApiToken, Campaign, CampaignStatus
from wise_al.db.repositories import CampaignRepository, TokenRepository
from wise_al.errors import ConflictError, NotFoundError


def _create(factory: sessionmaker[Session], name: str) -> int:
    with transaction(factory) as session:
        spec = parse_spec(with_value(example_spec(), "name", name))
        return CampaignRepository(session).create(spec, created_by="tester").id


def test_campaigns_are_stored_with_their_full_spec(session_factory: sessionmaker[Session]) -> None:
    campaign_id = _create(session_factory, "stored")
    with transaction(session_factory) as session:
        campaign = CampaignRepository(session).get(campaign_id)
        assert campaign.status == CampaignStatus.DRAFT
        assert campaign.spec == dump_spec(
            parse_spec(example_spec()).model_copy(update={"name": "stored"})
        )
        assert campaign.created_at.tzinfo is not None
        assert campaign.created_by == "tester"


def test_listing_pages_newest_first_and_filters(session_factory: sessionmaker[Session]) -> None:
    ids = [_create(session_factory, f"c{i}") for i in range(5)]
    with transaction(session_factory) as session:
        repo = CampaignRepository(session)
        repo.get(ids[0]).status = CampaignStatus.RUNNING
    with transaction(session_factory) as session:
        repo = CampaignRepository(session)
        page = repo.list(limit=2, offset=1)
        assert [c.id for c in page.items] == [ids[3], ids[2]]
        assert page.total == 5
        running = repo.list(status=CampaignStatus.RUNNING)
        assert [c.id for c in running.items] == [ids[0]] and running.total == 1


def test_only_drafts_can_be_deleted(session_factory: sessionmaker[Session]) -> None:
    draft, started = _create(session_factory, "draft"), _create(session_factory, "started")
    with transaction(session_factory) as session:
        CampaignRepository(session).get(started).status = CampaignStatus.RUNNING
    with transaction(session_factory) as session:
        CampaignRepository(session).delete_draft(draft)
    with pytest.raises(ConflictError, match="only drafts"), transaction(session_factory) as session:
        CampaignRepository(session).delete_draft(started)
    with transaction(session_factory) as session:
        remaining = session.scalars(select(Campaign.id)).all()
        assert remaining == [started]
        with pytest.raises(NotFoundError, match=f"campaign {draft} does not exist"):
            CampaignRepository(session).get(draft)


def test_tokens_are_stored_hashed_and_can_be_revoked(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        token, secret = TokenRepository(session).create("alice")
        token_id = token.id
    with transaction(session_factory) as session:
        row = session.get(ApiToken, token_id)
        assert row is not None
        stored = [str(getattr(row, c.key)) for c in ApiToken.__table__.columns]
        assert all(secret not in value for value in stored)
        assert secret[:10] == row.prefix
        repo = TokenRepository(session)
        assert repo.authenticate(secret) is not None
        assert repo.authenticate(secret + "x") is None
        repo.revoke(token_id)
    with transaction(session_factory) as session:
        assert TokenRepository(session).authenticate(secret) is None
        assert session.get(ApiToken, token_id).last_used_at is not None  # type: ignore[union-attr]
