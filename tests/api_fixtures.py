"""The REST API in-process (FastAPI's TestClient) on a migrated test database, with a token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.api.app import create_app
from tests.factories import example_spec
from wise_al.db.engine import transaction
from wise_al.db.models import Campaign
from wise_al.db.repositories import TokenRepository
from wise_al.settings import ApiSettings

CAMPAIGNS = "/api/v1/campaigns"


@dataclass
class Api:
    client: TestClient
    token: str
    sessions: sessionmaker[Session]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def campaign_count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(Campaign)) or 0

    def create(self, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(CAMPAIGNS, json=spec or example_spec(), headers=self.auth)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def api(database_url: str, tmp_path: Path, session_factory: sessionmaker[Session]) -> Iterator[Api]:
    settings = ApiSettings(home=tmp_path, database_url=database_url, max_body_bytes=65_536)
    with transaction(session_factory) as session:
        _, secret = TokenRepository(session).create("tester")
    with TestClient(create_app(settings)) as client:
        yield Api(client, secret, session_factory)
