"""The REST API on both backends: create, list, get, spec, delete, auth, limits, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from services.api.app import create_app
from tests.support.api_fixtures import CAMPAIGNS, Api
from tests.support.factories import BAD_SPECS, EXAMPLES, example_spec, with_value
from wise_al.campaign_spec import dump_spec, parse_spec
from wise_al.db.engine import create_db_engine, transaction
from wise_al.db.models import Campaign, CampaignStatus
from wise_al.db.repositories import TokenRepository
from wise_al.settings import ApiSettings


def test_health(api: Api) -> None:
    response = api.client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_health_is_503_while_the_database_is_not_at_the_codes_schema(
    api: Api, database_url: str
) -> None:
    from wise_al.db import migrate

    head = migrate.head_revision()
    migrate.downgrade(database_url, "-1")  # another release migrated it back under the app
    try:
        below = migrate.current_revision(create_db_engine(database_url))
        response = api.client.get("/api/v1/health")
        assert response.status_code == 503, response.text
        assert response.json()["database"] == f"schema at {below}, code expects {head}"
    finally:
        migrate.upgrade(database_url)
    assert api.client.get("/api/v1/health").status_code == 200


def test_create_then_read_back(api: Api) -> None:
    created = api.create()
    assert created["status"] == "draft" and created["created_by"] == "tester"
    assert created["summary"]["committee_size"] == 2
    fetched = api.client.get(f"{CAMPAIGNS}/{created['id']}").json()
    assert fetched == created
    spec = api.client.get(f"{CAMPAIGNS}/{created['id']}/spec").json()
    assert spec == dump_spec(parse_spec(example_spec()))  # every default filled in


def test_yaml_bodies_are_accepted(api: Api) -> None:
    body = (EXAMPLES / "wise_21m_gpu.yaml").read_bytes()
    headers = {**api.auth, "Content-Type": "application/yaml"}
    response = api.client.post(CAMPAIGNS, content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["summary"]["labelling_method"] == "dft"


def test_listing_is_paged(api: Api) -> None:
    ids = [api.create(with_value(example_spec(), "name", f"c{i}"))["id"] for i in range(3)]
    page = api.client.get(CAMPAIGNS, params={"limit": 2, "offset": 0}).json()
    assert [c["id"] for c in page["items"]] == ids[::-1][:2]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert api.client.get(CAMPAIGNS, params={"status": "running"}).json()["total"] == 0
    bad = api.client.get(CAMPAIGNS, params={"limit": 0})
    assert bad.status_code == 422 and "limit" in bad.json()["message"]


@pytest.mark.parametrize(("path", "value", "expected"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
def test_bad_specs_are_422_naming_the_field_and_write_nothing(
    api: Api, path: str, value: Any, expected: str
) -> None:
    response = api.client.post(
        CAMPAIGNS, json=with_value(example_spec(), path, value), headers=api.auth
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert expected in body["message"]
    assert all(error["loc"][0] == "body" for error in body["detail"])
    assert api.campaign_count() == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "body: not valid JSON"),
        (b"[1, 2]", "must be a mapping"),
        (b"", "not valid"),
        (b'{"name": "a", "name": "b"}', "body: key 'name' appears twice"),
    ],
)
def test_undecodable_bodies_are_422(api: Api, content: bytes, expected: str) -> None:
    headers = {**api.auth, "Content-Type": "application/json"}
    response = api.client.post(CAMPAIGNS, content=content, headers=headers)
    assert response.status_code == 422 and expected in response.json()["message"]
    assert api.campaign_count() == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wal_wrong"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["missing", "unknown", "not-bearer"],
)
def test_mutations_without_a_valid_token_are_401(api: Api, headers: dict[str, str]) -> None:
    existing = api.create()["id"]
    create = api.client.post(CAMPAIGNS, json=example_spec(), headers=headers)
    delete = api.client.delete(f"{CAMPAIGNS}/{existing}", headers=headers)
    for response in (create, delete):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert api.campaign_count() == 1


def test_auth_is_checked_before_the_body(api: Api) -> None:
    response = api.client.post(
        CAMPAIGNS, content=b"{broken", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401


def test_a_revoked_token_is_401(api: Api) -> None:
    with transaction(api.sessions) as session:
        repo = TokenRepository(session)
        repo.revoke(repo.authenticate(api.token).id)  # type: ignore[union-attr]
    response = api.client.post(CAMPAIGNS, json=example_spec(), headers=api.auth)
    assert response.status_code == 401 and "revoked" in response.json()["message"]


def test_reads_need_no_token(api: Api) -> None:
    campaign_id = api.create()["id"]
    assert api.client.get(f"{CAMPAIGNS}/{campaign_id}").status_code == 200


def test_delete_only_while_draft(api: Api) -> None:
    draft, started = api.create()["id"], api.create()["id"]
    with transaction(api.sessions) as session:
        session.get(Campaign, started).status = CampaignStatus.RUNNING  # type: ignore[union-attr]
    assert api.client.delete(f"{CAMPAIGNS}/{draft}", headers=api.auth).status_code == 204
    assert api.client.get(f"{CAMPAIGNS}/{draft}").status_code == 404
    refused = api.client.delete(f"{CAMPAIGNS}/{started}", headers=api.auth)
    assert refused.status_code == 409 and "only drafts" in refused.json()["message"]
    assert api.client.get(f"{CAMPAIGNS}/{started}").json()["status"] == "running"
    missing = api.client.delete(f"{CAMPAIGNS}/424242", headers=api.auth)
    assert missing.status_code == 404 and "424242" in missing.json()["message"]


def test_huge_uploads_are_413_and_write_nothing(api: Api) -> None:
    padded = with_value(example_spec(), "description", "x" * 9_000)
    huge = json.dumps([padded] * 10).encode()  # > 64 KiB limit of this fixture
    declared = api.client.post(CAMPAIGNS, content=huge, headers=api.auth)
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
        for start in range(0, len(huge), 4096):
            yield huge[start : start + 4096]

    streamed = api.client.post(CAMPAIGNS, content=chunks(), headers=api.auth)
    assert streamed.status_code == 413 and "larger than" in streamed.json()["message"]
    assert api.campaign_count() == 0


def test_the_token_never_reaches_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api.create()
    api.client.post(CAMPAIGNS, json={"bad": 1}, headers=api.auth)
    api.client.post(CAMPAIGNS, json=example_spec(), headers={"Authorization": "Bearer wal_guess"})
    assert caplog.records, "nothing was logged, so this test would prove nothing"
    assert api.token not in caplog.text and "wal_guess" not in caplog.text


def test_openapi_documents_the_spec_body(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    body = schema["paths"][CAMPAIGNS]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["$ref"].endswith("/CampaignSpec")
    assert "CampaignSpec" in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["type"] == "http"


def test_the_api_refuses_to_start_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = ApiSettings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(Exception, match="wise-al db upgrade"), TestClient(create_app(settings)):
        pass
    create_db_engine(settings.resolved_database_url()).dispose()


def test_yaml_loader_refuses_python_tags(api: Api, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    evil = f"!!python/object/apply:os.mkdir [{str(marker)!r}]"
    body = yaml.safe_dump(example_spec()).replace("name: demo-litfsi-water", f"name: {evil}")
    headers = {**api.auth, "Content-Type": "application/yaml"}
    response = api.client.post(CAMPAIGNS, content=body.encode(), headers=headers)
    assert response.status_code == 422
    assert "could not determine a constructor" in response.json()["message"]
    assert not marker.exists() and api.campaign_count() == 0


def test_a_failed_commit_is_never_answered_201(
    database_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    with transaction(session_factory) as session:
        _, secret = TokenRepository(session).create("tester")
    app = create_app(ApiSettings(home=tmp_path, database_url=database_url))

    def refuse(_: Session) -> None:
        raise RuntimeError("disk full")

    event.listen(app.state.session_factory, "before_commit", refuse)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            CAMPAIGNS, json=example_spec(), headers={"Authorization": f"Bearer {secret}"}
        )
    assert response.status_code == 500
    assert response.json()["message"].startswith("internal error")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"{CAMPAIGNS}/2147483648"),
        ("DELETE", f"{CAMPAIGNS}/99999999999999"),
        ("GET", f"{CAMPAIGNS}/0/spec"),
        ("GET", f"{CAMPAIGNS}?offset={2**63}"),
    ],
)
def test_out_of_range_numbers_are_422(api: Api, method: str, url: str) -> None:
    response = api.client.request(method, url, headers=api.auth)
    assert response.status_code == 422, response.text
    assert "campaign_id" in response.json()["message"] or "offset" in response.json()["message"]


def test_control_characters_are_refused_before_the_database(api: Api) -> None:
    response = api.client.post(
        CAMPAIGNS, json=with_value(example_spec(), "description", "a\x00b"), headers=api.auth
    )
    assert response.status_code == 422 and "description" in response.json()["message"]


def test_specs_stored_by_other_versions_stay_readable(api: Api) -> None:
    campaign_id = api.create()["id"]
    with transaction(api.sessions) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.spec = {**campaign.spec, "added_later": 1, "system": {}}
    assert api.client.get(f"{CAMPAIGNS}/{campaign_id}/spec").json()["added_later"] == 1
    assert api.client.get(f"{CAMPAIGNS}/{campaign_id}").status_code == 200
    assert api.client.get(CAMPAIGNS).json()["total"] == 1
