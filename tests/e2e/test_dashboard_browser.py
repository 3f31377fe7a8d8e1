"""The dashboard in a real headless Chromium (Playwright), against the real API process and a
copy of the shared campaign on PostgreSQL (foundation MD, CP2K xTB labels, a 2-member MACE
committee trained here; tests/support/shared_campaign.py).

The campaign reviews by hand (``review.gate: required``): iteration 0 was decided through the
repository, so iteration 1 explored with a trained committee and waits in the review queue
(the ``reviewing`` moment). Its Li–Li minimum distance is 8 Å, wider than the half-diagonal
of the 8.6 Å cell, so every frame carries a real Li–Li flag whatever path the MD takes.

Screenshots go to tests/artifacts/screenshots/ (ignored by git); ``make screenshots`` runs
this module and copies them to docs/screenshots/, which the README shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.support.cli import api_process
from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.shared_campaign import campaign_copy
from wise_al.db.engine import transaction
from wise_al.db.repositories import TokenRepository

# one worker runs every reader of the shared campaign: the others never wait for its build
pytestmark = [needs_cp2k, pytest.mark.slow, pytest.mark.xdist_group("shared-campaign")]


@dataclass
class Site:
    url: str
    campaign_id: int
    token: str
    reviewer: str

    def rest(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}/api/v1/campaigns/{self.campaign_id}{path}", params=params)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def site(
    shared_campaign: dict[str, Any],
    pytestconfig: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("dashboard")
    with campaign_copy(shared_campaign, "reviewing", pytestconfig, work) as copy:
        with transaction(copy.sessions) as session:
            _, secret = TokenRepository(session).create("reviewer-bo")
        with api_process(copy.url, work) as base:
            yield Site(base, copy.campaign_id, secret, "reviewer-bo")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # a script, style or image the CSP blocks shows as a console error, not a page error
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _sign_in(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/signin")
    page.fill("#token", site.token)
    page.click("button[type=submit]")
    expect(page.locator("#reviewer")).to_contain_text(site.reviewer)


def _waiting(site: Site) -> list[dict[str, Any]]:
    frames = site.rest("/frames", status="selected", iteration=1, sort="-deviation")["items"]
    return [f for f in frames if not site.rest(f"/frames/{f['id']}")["reviews"]]


def test_the_api_docs_render_offline_under_the_csp(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("wise-al", timeout=30_000)
    expect(page.locator(".opblock-tag").first).to_be_visible()


def test_the_campaign_page_draws_its_plots_and_live_status(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/campaigns/{site.campaign_id}")
    expect(page.locator("#status-reason")).to_contain_text("review")
    for name in ("timeline", "ratios", "learning", "histogram"):
        expect(page.locator(f"#plot-{name} .main-svg").first).to_be_visible()
    assert page.locator("#iterations tbody tr").count() == 2
    page.screenshot(path=SCREENSHOTS / "campaign.png", full_page=True)


def test_the_review_queue_lists_the_flagged_frames(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/campaigns/{site.campaign_id}/review?iteration=1")
    rows = page.locator("#queue tbody tr[data-frame]")
    expected = [
        f["id"]
        for f in site.rest("/frames", status="selected", iteration=1, sort="-deviation")["items"]
    ]
    assert expected, "iteration 1 selected frames for review"
    assert [int(x) for x in rows.evaluate_all("rs => rs.map(r => r.dataset.frame)")] == expected
    for k in range(rows.count()):
        expect(rows.nth(k).locator(".flag")).to_contain_text(["min_distance"])
    page.screenshot(path=SCREENSHOTS / "queue.png", full_page=True)


def test_the_li_li_frame_highlights_both_atoms_with_the_distance(page: Page, site: Site) -> None:
    frame = _waiting(site)[0]
    flag = next(f for f in frame["flags"] if f["kind"] == "min_distance" and "Li" in f["message"])
    page.goto(f"{site.url}/campaigns/{site.campaign_id}/frames/{frame['id']}")
    viewer = page.locator("#viewer")
    expect(viewer).to_have_attribute("data-rendered", "yes")
    highlighted = {int(i) for i in str(viewer.get_attribute("data-highlighted")).split(",")}
    assert set(flag["atoms"]) <= highlighted
    assert f"Li–Li {flag['value']:.2f} Å" in str(viewer.get_attribute("data-contacts"))
    assert page.locator("#viewer canvas").count() >= 1
    expect(page.locator("#flags")).to_contain_text(flag["message"])
    expect(page.locator("#member-energies tbody tr")).to_have_count(2)
    # the frame came from a walker or from the previous committee's validation MD
    source = "validation MD" if frame["source"] == "validation" else "walker"
    expect(page.locator("#provenance")).to_contain_text(source)
    page.screenshot(path=SCREENSHOTS / "frame.png", full_page=False)


def test_accepting_and_rejecting_from_the_keyboard_records_reviews(page: Page, site: Site) -> None:
    first, second = _waiting(site)[:2]
    _sign_in(page, site)
    page.goto(f"{site.url}/campaigns/{site.campaign_id}/review?iteration=1")
    expect(page.locator("#queue")).to_have_attribute("data-ready", "yes")
    row = page.locator(f'tr[data-frame="{first["id"]}"]')
    while "current" not in (row.get_attribute("class") or ""):
        page.keyboard.press("j")
    page.keyboard.press("a")
    expect(row.locator(".decision")).to_contain_text(f"accepted by {site.reviewer}")
    reviews = site.rest(f"/frames/{first['id']}")["reviews"]
    assert [(r["decision"], r["reviewer"]) for r in reviews] == [("accept", site.reviewer)]

    other = page.locator(f'tr[data-frame="{second["id"]}"]')
    while "current" not in (other.get_attribute("class") or ""):
        page.keyboard.press("k" if _above(page, second["id"]) else "j")
    page.keyboard.press("r")
    page.keyboard.type("water molecule torn apart by packing")
    page.keyboard.press("Enter")
    expect(other.locator(".decision")).to_contain_text("rejected")
    detail = site.rest(f"/frames/{second['id']}")
    assert detail["status"] == "rejected"
    assert detail["reviews"][0]["reason"] == "water molecule torn apart by packing"


def _above(page: Page, frame_id: int) -> bool:
    """Is the frame's row above the current row?"""
    return bool(
        page.evaluate(
            """id => { const rows = [...document.querySelectorAll('#queue tbody tr[data-frame]')];
            return rows.findIndex(r => r.dataset.frame == id) <
                   rows.findIndex(r => r.classList.contains('current')); }""",
            frame_id,
        )
    )


def test_an_anonymous_visitor_cannot_accept(page: Page, site: Site) -> None:
    frame = _waiting(site)[0]
    page.goto(f"{site.url}/campaigns/{site.campaign_id}/review?iteration=1")
    expect(page.locator("#queue")).to_have_attribute("data-ready", "yes")
    expect(page.locator(f'tr[data-frame="{frame["id"]}"] button.accept')).to_be_disabled()
    page.keyboard.press("a")
    expect(page.locator("#queue-message")).to_contain_text("sign in to review")
    # even a hand-made request with the page's CSRF token is refused without a session
    status = page.evaluate(
        """async url => (await fetch(url, {method: 'POST',
            body: new URLSearchParams({decision: 'accept'}),
            headers: {'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content,
                      'Accept': 'application/json'}})).status""",
        f"/campaigns/{site.campaign_id}/frames/{frame['id']}/review",
    )
    assert status == 401
    assert site.rest(f"/frames/{frame['id']}")["reviews"] == []


def test_the_models_page_draws_parity_plots(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/campaigns/{site.campaign_id}/models")
    versions = site.rest("/models")
    assert len(versions) == 2  # the committee of iteration 0
    expect(page.locator("#models tbody tr")).to_have_count(2)
    # every member has held-out labels here: one parity plot each
    assert all(v["metrics"]["parity"] for v in versions)
    plots = page.locator("[data-plot-url]")
    expect(plots).to_have_count(2)
    for k in range(2):
        expect(plots.nth(k).locator(".main-svg").first).to_be_visible()
    download = page.locator("#models a", has_text="download").first
    assert re.search(r"/models/\d+/download$", str(download.get_attribute("href")))
    page.screenshot(path=SCREENSHOTS / "models.png", full_page=True)


def test_the_validation_page_draws_the_committee_against_experiment(page: Page, site: Site) -> None:
    validations = site.rest("/validations")
    assert [(v["iteration_index"], v["status"]) for v in validations] == [(0, "done")], [
        v["error"] for v in validations
    ]
    summary = validations[0]
    assert "sq" not in summary["observables"]  # curves only in the full read
    full = site.rest("/validations/0")
    assert len(full["observables"]["sq"]) == len(full["observables"]["sq_q_per_A"]) > 100
    page.goto(f"{site.url}/campaigns/{site.campaign_id}/validation")
    expect(page.locator("#validations tbody tr")).to_have_count(1)
    grades = page.locator("#validations .badge[class*=grade-]")
    expect(grades).to_have_count(len(summary["scores"]))
    water = page.locator("#coordination tbody tr").first
    expect(water).to_contain_text("1.93")  # experiment, beside this committee's value
    expect(water).to_contain_text(f"{summary['observables']['cn_li_o_water']:.2f}")
    for plot in ("sq", "rdf", "density", "convergence"):
        expect(page.locator(f"#plot-{plot} .main-svg").first).to_be_visible()
    expect(page.locator("#plot-sq")).to_contain_text("experiment (Zhang 2021)")
    trajectory = page.locator("a", has_text="trajectory")
    response = httpx.get(f"{site.url}{trajectory.get_attribute('href')}")
    assert response.status_code == 200 and response.text.count("Lattice=") == full["frames"]
    page.screenshot(path=SCREENSHOTS / "validation.png", full_page=True)
