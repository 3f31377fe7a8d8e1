"""What a long run asks while it works: was its campaign cancelled?"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.support.loop_fixtures import small_campaign
from wise_al.campaign_spec import parse_spec
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.repositories import CampaignRepository
from wise_al.jobs.unit import cancelled_check


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_stops_once_its_campaign_is_cancelled_or_deleted(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        campaigns = CampaignRepository(session)
        campaign_id = campaigns.create(parse_spec(small_campaign())).id
        campaigns.control(campaign_id, "start")
    cancelled = cancelled_check(session_factory, campaign_id)
    assert cancelled() is False
    with transaction(session_factory) as session:
        CampaignRepository(session).control(campaign_id, "cancel")
    assert cancelled() is True
    assert cancelled_check(session_factory, campaign_id + 1)() is True  # deleted: stop too


def test_a_database_that_is_away_does_not_stop_the_run(tmp_path: Path) -> None:
    # a directory that does not exist: every connection fails
    away = create_session_factory(create_db_engine(f"sqlite:///{tmp_path}/none/wise_al.db"))
    assert cancelled_check(away, 1)() is False
