"""The REST API and dashboard under the attacks that once got through, on both backends.

Each hostile request must answer 4xx with one readable line, and leave every stored row as
it was (a digest of the whole database is compared before and after).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.api.dashboard.auth import CSRF_COOKIE, SESSION_COOKIE
from services.api.hygiene import CONTENT_SECURITY_POLICY
from tests.support.api_fixtures import CAMPAIGNS, Api, explored_campaign, table_digest
from tests.support.factories import example_spec, with_value
from wise_al.db.base import utcnow
from wise_al.db.engine import transaction
from wise_al.db.models import ApiToken, Review
from wise_al.db.repositories import TokenRepository

HTML = {"Accept": "text/html"}
SCF = ("force_eval", "dft", "scf")


def _digest(api: Api) -> str:
    return table_digest(api.sessions)


def _tree(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for key in reversed(path):
        value = {key: value}
    return value


def _overrides(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    return with_value(example_spec(), "labelling.cp2k_overrides", _tree(path, value))


def _one_line(response: Any, status: int, expected: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()["message"]
    assert expected in message and "\n" not in message and len(message) < 2000, message


HOSTILE_SPECS = {
    "list-replaces-force-eval": (
        with_value(example_spec(), "labelling.cp2k_overrides", {"force_eval": [{"dft": {}}]}),
        "a list is not allowed",
    ),
    "multigrid-round-cutoff": (
        _overrides(("force_eval", "dft", "mgrid", "multigrid_cutoff"), [100, 50]),
        "a list is not allowed",
    ),
    "ddapc-restraint": (
        _overrides(("force_eval", "dft", "qs", "ddapc_restraint", "strength"), 1.0),
        "may only tune",
    ),
    "smearing-5000K": (_overrides((*SCF, "smear", "electronic_temperature"), 5000), "may only"),
    "poisson-none": (_overrides(("force_eval", "dft", "poisson", "periodic"), "NONE"), "may only"),
    "eps-default-1e-2": (_overrides(("force_eval", "dft", "qs", "eps_default"), 1e-2), "[1e-16"),
    "ngrids-1e9": (_overrides(("force_eval", "dft", "mgrid", "ngrids"), 10**9), "[1, 8]"),
    "added-mos-1e30": (_overrides((*SCF, "added_mos"), 1e30), "must be an integer"),
    "subnormal-molality": (
        with_value(example_spec(), "system.composition.molality_mol_per_kg", 5e-324),
        "molality_mol_per_kg",
    ),
    "tiny-temperature": (with_value(example_spec(), "system.temperature_K", 1e-300), "temper"),
    "65536-walkers": (
        with_value(example_spec(), "system.walkers", [{"replicas": 256}] * 256),
        "at most 256",
    ),
    "nul-in-path": (with_value(example_spec(), "model.foundation", "/m/a\x00.model"), "control"),
    "newline-in-path": (with_value(example_spec(), "model.foundation", "/m/a\n.model"), "control"),
}


@pytest.mark.parametrize("name", list(HOSTILE_SPECS))
def test_a_hostile_spec_is_one_line_4xx_and_stores_nothing(api: Api, name: str) -> None:
    api.create()  # something stored, to see it unchanged
    before = _digest(api)
    spec, expected = HOSTILE_SPECS[name]
    if name == "subnormal-molality":
        spec["system"]["composition"] = {"kind": "molality", "molality_mol_per_kg": 5e-324}
    _one_line(api.client.post(CAMPAIGNS, json=spec, headers=api.auth), 422, expected)
    assert _digest(api) == before


def test_a_crushed_cell_and_a_disk_filling_schedule_are_refused(api: Api) -> None:
    before = _digest(api)
    crushed = with_value(example_spec(), "system.cell_A", [2.0, 2.0, 2.0])
    crushed["system"].pop("density_g_per_cm3", None)
    crushed["system"]["composition"] = {"kind": "counts", "molecules": {"LiTFSI": 5000}}
    _one_line(api.client.post(CAMPAIGNS, json=crushed, headers=api.auth), 422, "g/cm³")
    flood = with_value(example_spec(), "exploration.steps_per_iteration", [100_000_000])
    flood["exploration"]["save_interval_steps"] = 1
    _one_line(api.client.post(CAMPAIGNS, json=flood, headers=api.auth), 422, "GiB of trajectory")
    assert _digest(api) == before


def test_fifty_thousand_unknown_keys_are_one_short_line(api: Api) -> None:
    before = _digest(api)
    text = "name: x\n" + "".join(f"k{i}: {i}\n" for i in range(50_000))
    headers = {**api.auth, "Content-Type": "application/yaml"}
    big = api.client.post(CAMPAIGNS, content=text.encode(), headers=headers)
    assert big.status_code in (413, 422) and len(big.text) < 2000, big.text[:300]
    assert _digest(api) == before


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/campaigns/{id}/frames?iteration=9223372036854775808",
        "/api/v1/campaigns/{id}/frames?flag=%00",
        "/campaigns/{id}/queue?flag=%00",
        "/api/v1/campaigns/{id}/frames?flag=a%0Ab",
        "/api/v1/campaigns/{id}/frames?min_deviation=1e400",
    ],
)
def test_hostile_query_parameters_are_4xx(api: Api, url: str) -> None:
    campaign_id = api.create()["id"]
    response = api.client.get(url.format(id=campaign_id))
    assert 400 <= response.status_code < 500, response.text
    assert "\n" not in response.json()["message"]


def test_a_nul_in_a_review_reason_is_422_and_stores_nothing(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    before = _digest(api)
    response = api.client.post(
        f"{CAMPAIGNS}/{campaign_id}/frames/{ids[0]}/review",
        json={"decision": "reject", "reason": "bad\x00"},
        headers=api.auth,
    )
    _one_line(response, 422, "reason")
    assert _digest(api) == before


def _accept_on_the_dashboard(api: Api, campaign_id: int, frame_id: int, csrf: str) -> Any:
    """Post the review form's accept, as the page's fetch does."""
    return api.client.post(
        f"/campaigns/{campaign_id}/frames/{frame_id}/review",
        data={"decision": "accept", "csrf_token": csrf},
        headers={"Accept": "application/json"},
    )


def _signed_in_client_csrf(api: Api, secret: str) -> tuple[str, str]:
    """Sign ``api.client`` in with ``secret``; its (session cookie, CSRF token)."""
    page = api.client.get("/signin", headers=HTML)
    anonymous = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert anonymous
    signin = api.client.post(
        "/signin",
        data={"token": secret, "csrf_token": anonymous.group(1)},
        follow_redirects=False,
    )
    assert signin.status_code == 303
    return api.client.cookies[SESSION_COOKIE], api.client.cookies[CSRF_COOKIE]


def test_a_csrf_cookie_planted_from_another_session_is_refused(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    with transaction(api.sessions) as session:
        _, attacker_secret = TokenRepository(session).create("mallory", ["read"])
    # the attacker signs in on their own and keeps their validly signed CSRF token
    _, attacker_csrf = _signed_in_client_csrf(api, attacker_secret)
    api.client.cookies.clear()
    victim_session, _ = _signed_in_client_csrf(api, api.token)
    before = _digest(api)
    # a same-site page (e.g. another port of this host) plants the attacker's CSRF cookie
    api.client.cookies.set(CSRF_COOKIE, attacker_csrf)
    forged = _accept_on_the_dashboard(api, campaign_id, ids[0], attacker_csrf)
    _one_line(forged, 403, "csrf")
    assert _digest(api) == before
    assert api.client.cookies[SESSION_COOKIE] == victim_session
    # an anonymous token (valid before sign-in) is no good after it either
    api.client.cookies.clear()
    page = api.client.get("/", headers=HTML)
    anonymous = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert anonymous
    api.client.cookies.set(SESSION_COOKIE, victim_session)
    replay = _accept_on_the_dashboard(api, campaign_id, ids[0], anonymous.group(1))
    assert replay.status_code == 403
    with api.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 0


def _token(api: Api, scopes: list[str], lifetime: timedelta | None = timedelta(days=1)) -> str:
    with transaction(api.sessions) as session:
        _, secret = TokenRepository(session).create(f"t-{'-'.join(scopes)}", scopes, lifetime)
    return secret


def test_scopes_decide_what_a_token_may_do(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    read = {"Authorization": f"Bearer {_token(api, ['read'])}"}
    review = {"Authorization": f"Bearer {_token(api, ['review'])}"}
    before = _digest(api)
    url = f"{CAMPAIGNS}/{campaign_id}/frames/{ids[0]}/review"
    _one_line(api.client.post(url, json={"decision": "accept"}, headers=read), 403, "'review'")
    _one_line(api.client.post(CAMPAIGNS, json=example_spec(), headers=review), 403, "'operate'")
    started = api.client.post(f"{CAMPAIGNS}/{campaign_id}/start", headers=review)
    _one_line(started, 403, "'operate'")
    assert _digest(api) == before
    # the dashboard applies the same scopes: a read token signs in and looks, never reviews
    _, csrf = _signed_in_client_csrf(api, read["Authorization"].split()[1])
    page = api.client.get(f"/campaigns/{campaign_id}/frames/{ids[0]}", headers=HTML)
    assert "may look but not review" in page.text and "review-form" not in page.text
    refused = _accept_on_the_dashboard(api, campaign_id, ids[0], csrf)
    _one_line(refused, 403, "may not review")
    assert _digest(api) == before
    api.client.cookies.clear()
    assert api.client.post(url, json={"decision": "accept"}, headers=review).status_code == 201


def test_an_expired_token_is_401_and_says_so(api: Api) -> None:
    secret = _token(api, ["operate"])
    with transaction(api.sessions) as session:
        token = session.scalars(select(ApiToken).where(ApiToken.name == "t-operate")).one()
        token.expires_at = utcnow() - timedelta(seconds=1)
    response = api.client.post(
        CAMPAIGNS, json=example_spec(), headers={"Authorization": f"Bearer {secret}"}
    )
    _one_line(response, 401, "token expired at")
    assert api.campaign_count() == 0


@pytest.mark.parametrize("path", ["/", "/api/v1/health", "/docs", "/api/v1/campaigns/99"])
def test_every_answer_carries_the_security_headers(api: Api, path: str) -> None:
    response = api.client.get(path, headers=HTML)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_api_docs_load_only_the_apps_own_files(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources)
    for source in sources:
        assert api.client.get(source).status_code == 200, source
    assert "<script>" not in page.text  # nothing inline: the CSP allows none
    assert api.client.get("/redoc").status_code == 404


def test_a_deleted_campaigns_id_is_never_given_again(api: Api) -> None:
    first = api.create()["id"]
    assert api.client.delete(f"{CAMPAIGNS}/{first}", headers=api.auth).status_code == 204
    second = api.create()["id"]
    assert second > first
    assert api.client.get(f"{CAMPAIGNS}/{first}").status_code == 404
