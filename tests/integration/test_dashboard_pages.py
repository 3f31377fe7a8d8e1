"""Dashboard pages over HTTP (TestClient) on both backends: rendering, sign-in, CSRF, reviews.

The browser-driven tests (keyboard, 3D viewer) are in tests/e2e/test_dashboard_browser.py.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.api.dashboard.auth import CSRF_COOKIE, SESSION_COOKIE
from tests.support.api_fixtures import CAMPAIGNS, Api, explored_campaign
from tests.support.factories import example_spec
from wise_al.db.engine import transaction
from wise_al.db.models import DashboardSession, Review
from wise_al.db.repositories import ModelVersionRepository, TokenRepository

HTML = {"Accept": "text/html"}


def _csrf(api: Api, path: str = "/") -> str:
    page = api.client.get(path, headers=HTML)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert match, "every page carries the CSRF token"
    return match.group(1)


def _sign_in(api: Api, secret: str | None = None) -> str:
    csrf = _csrf(api, "/signin")
    response = api.client.post(
        "/signin",
        data={"token": secret or api.token, "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    bound = api.client.cookies.get(CSRF_COOKIE)  # signing in issues a token bound to the session
    assert bound and bound != csrf
    return bound


def _reviews(api: Api) -> int:
    with api.sessions() as session:
        return session.scalar(select(func.count()).select_from(Review)) or 0


def test_an_auto_gate_queue_has_nothing_waiting_for_a_decision(api: Api, tmp_path: Path) -> None:
    campaign_id, _ = explored_campaign(api, tmp_path, gate="auto")
    queue = api.client.get(f"/campaigns/{campaign_id}/review", headers=HTML)
    assert "waiting for a decision" not in queue.text and "review gate <b>auto</b>" in queue.text
    assert 'data-decision="accept"' not in queue.text
    assert queue.text.count("sent to labelling (gate auto)") == 2
    live = api.client.get(f"/campaigns/{campaign_id}/live", headers=HTML)
    assert "waiting for review" not in live.text and "gate auto: nothing waits" in live.text
    # the calibration numbers are part of the iteration over REST too
    (iteration,) = api.client.get(f"{CAMPAIGNS}/{campaign_id}/iterations").json()
    calibration = iteration["metrics"]["calibration"]
    assert calibration["under_dispersed"] and calibration["dispersion_ratio"] == 0.02


def test_pages_render_for_anonymous_visitors(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    listing = api.client.get("/", headers=HTML)
    assert listing.status_code == 200 and "demo-litfsi-water" in listing.text
    assert "viewing anonymously" in listing.text
    campaign = api.client.get(f"/campaigns/{campaign_id}", headers=HTML)
    assert campaign.status_code == 200
    figures = {
        name: json.loads(unescape(value))
        for name, value in re.findall(r'id="plot-(\w+)" data-plot="([^"]+)"', campaign.text)
    }
    assert set(figures) == {"timeline", "ratios", "learning", "histogram", "calibration"}
    window = figures["histogram"]["layout"]["shapes"][0]
    spec_window = example_spec()["uncertainty"]  # the example spec's, no calibration yet
    assert (window["x0"], window["x1"]) == (
        spec_window["trust_lo_eV_per_A"],
        spec_window["trust_hi_eV_per_A"],
    )
    # valid and test errors have a column each, never one number standing in for the other
    table = campaign.text[campaign.text.index('id="iterations"') :]
    assert "force RMSE valid (meV/Å)" in table and "force RMSE test (meV/Å)" in table
    assert re.search(r'<td class="num">111</td>\s*<td class="num">222</td>', table)
    assert "under-dispersed" in table and "missed 1/1" in table
    learning = {trace["name"] for trace in figures["learning"]["data"]}
    assert {"force RMSE, valid", "force RMSE, test"} <= learning
    points = figures["calibration"]["data"][0]
    assert points["x"] == [0.004, 0.006] and points["y"] == [0.2, 0.45]
    queue = api.client.get(f"/campaigns/{campaign_id}/review", headers=HTML)
    rows = re.findall(r'<tr data-frame="(\d+)"', queue.text)
    assert [int(r) for r in rows] == ids[:2]  # selected frames, highest deviation first
    assert "disabled" in queue.text and "sign in to accept or reject" in queue.text
    flagged = api.client.get(
        f"/campaigns/{campaign_id}/review", params={"status": "any", "flag": "min_distance"}
    )
    assert [int(r) for r in re.findall(r'<tr data-frame="(\d+)"', flagged.text)] == [
        ids[0],
        ids[3],
    ]
    frame = api.client.get(f"/campaigns/{campaign_id}/frames/{ids[0]}", headers=HTML)
    assert frame.status_code == 200 and "Li-Li 2.1 Å" in frame.text
    data = re.search(r'id="frame-data">(.*?)</script>', frame.text, re.S)
    assert data is not None
    viewer = json.loads(data.group(1))
    assert viewer["flagged"] == [0, 1] and len(viewer["contacts"]) == 1
    assert "Sign in</a> to accept or reject" in frame.text
    with transaction(api.sessions) as session:  # a member whose training failed
        ModelVersionRepository(session).record_failure(
            campaign_id, 0, 1, "fine_tune_naive", "member 1 failed to train (exit 137)"
        )
    models = api.client.get(f"/campaigns/{campaign_id}/models", headers=HTML)
    assert models.status_code == 200 and "download" in models.text
    assert "member 1 failed to train (exit 137)" in models.text
    rest = api.client.get(f"{CAMPAIGNS}/{campaign_id}/models").json()
    assert [(m["member_index"], m["status"], m["error"]) for m in rest] == [
        (0, "done", None),
        (1, "failed", "member 1 failed to train (exit 137)"),
    ]


def test_errors_are_pages_for_browsers_and_json_for_the_api(api: Api) -> None:
    page = api.client.get("/campaigns/999", headers=HTML)
    assert page.status_code == 404 and "campaign 999" in page.text and "<html" in page.text
    rest = api.client.get(f"{CAMPAIGNS}/999", headers=HTML)
    assert rest.status_code == 404 and "campaign 999" in rest.json()["message"]
    bad_filter = api.client.get("/campaigns/1/review", params={"status": "bogus"}, headers=HTML)
    assert bad_filter.status_code == 422 and "status" in bad_filter.text


def test_anonymous_visitors_change_nothing(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    url = f"/campaigns/{campaign_id}/frames/{ids[0]}/review"
    csrf = _csrf(api)
    anonymous = api.client.post(url, data={"decision": "accept", "csrf_token": csrf})
    assert anonymous.status_code == 401 and "sign in" in anonymous.json()["message"]
    assert _reviews(api) == 0


def test_review_needs_a_csrf_token_and_a_session(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    url = f"/campaigns/{campaign_id}/frames/{{}}/review"
    csrf = _sign_in(api)
    assert "signed in as <b>tester</b>" in api.client.get("/").text
    forged = api.client.post(url.format(ids[0]), data={"decision": "accept", "csrf_token": "x"})
    assert forged.status_code == 403 and "csrf" in forged.json()["message"]
    missing = api.client.post(url.format(ids[0]), data={"decision": "accept"})
    assert missing.status_code == 403
    assert _reviews(api) == 0
    no_reason = api.client.post(url.format(ids[0]), data={"decision": "reject", "csrf_token": csrf})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["message"]
    bogus = api.client.post(url.format(ids[0]), data={"decision": "maybe", "csrf_token": csrf})
    assert bogus.status_code == 422 and "decision" in bogus.json()["message"]
    # the form posts and is redirected back; fetch() asks for JSON and sends the header
    accepted = api.client.post(
        url.format(ids[0]), data={"decision": "accept", "csrf_token": csrf}, follow_redirects=False
    )
    assert accepted.status_code == 303
    rejected = api.client.post(
        url.format(ids[2]),
        data={"decision": "reject", "reason": "duplicate"},
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert rejected.status_code == 409 and "candidate" in rejected.json()["message"]
    detail = api.client.get(f"{CAMPAIGNS}/{campaign_id}/frames/{ids[0]}").json()
    assert [(r["decision"], r["reviewer"]) for r in detail["reviews"]] == [("accept", "tester")]


def test_sign_in_rejects_bad_tokens_and_revocation_signs_out(api: Api) -> None:
    csrf = _csrf(api, "/signin")
    wrong = api.client.post("/signin", data={"token": "nope", "csrf_token": csrf})
    assert wrong.status_code == 401 and "token: unknown, revoked or expired" in wrong.text
    no_csrf = api.client.post("/signin", data={"token": api.token})
    assert no_csrf.status_code == 403
    away = api.client.post(
        "/signin",
        data={"token": api.token, "csrf_token": csrf, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/"  # never an open redirect
    assert "signed in as" in api.client.get("/").text
    with transaction(api.sessions) as session:
        tokens = TokenRepository(session)
        tokens.revoke(tokens.list()[0].id)
    assert "viewing anonymously" in api.client.get("/").text


def test_signing_out_ends_the_session_on_the_server(api: Api) -> None:
    csrf = _sign_in(api)
    copied = dict(api.client.cookies)  # what someone who copied the cookies holds
    out = api.client.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert "viewing anonymously" in api.client.get("/").text
    # the copied cookies are signed and unexpired, yet sign no one in any more
    api.client.cookies.clear()
    for name, value in copied.items():
        api.client.cookies.set(name, value)
    assert "viewing anonymously" in api.client.get("/").text
    with api.sessions() as session:
        rows = session.scalars(select(DashboardSession)).all()
    assert len(rows) == 1 and rows[0].ended_at is not None
    assert len(rows[0].key_sha256) == 64 and rows[0].key_sha256 not in str(copied)


def test_an_anonymous_csrf_token_is_bound_to_its_own_visitor(api: Api) -> None:
    """Login CSRF: a token taken from one anonymous visit cannot sign in another visitor."""
    attacker = _csrf(api, "/signin")
    attacker_session = api.client.cookies[SESSION_COOKIE]
    api.client.cookies.clear()
    victim = _csrf(api, "/signin")
    assert api.client.cookies[SESSION_COOKIE] != attacker_session and victim != attacker
    api.client.cookies.set(CSRF_COOKIE, attacker)  # planted, with its form token
    forced = api.client.post("/signin", data={"token": api.token, "csrf_token": attacker})
    assert forced.status_code == 403 and "viewing anonymously" in api.client.get("/").text


@pytest.mark.parametrize("name", ["3Dmol-min.js", "plotly.min.js", "htmx.min.js"])
def test_browser_libraries_are_served_by_the_app(api: Api, name: str) -> None:
    response = api.client.get(f"/static/vendor/{name}")
    assert response.status_code == 200 and len(response.content) > 10_000
    # only the listed files: not the lock file beside them, nor anything else on disk
    assert api.client.get("/static/vendor/package-lock.json").status_code == 404
