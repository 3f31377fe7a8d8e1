"""A real small study on this machine, compared in a real headless Chromium.

Four variants of the demo campaign (GFN1-xTB labels from CP2K, tiny MACE models, one
iteration, short validation MD), as the paper compares them: trained from scratch on
uploaded "AIMD" (the demo foundation's own xTB labels), naively fine-tuned, the foundation
out of the box, and fine-tuned with random instead of committee selection. All are scored
on one external test set made by CP2K's own MD of the demo cell (``wise_al.cp2k.md``),
run once per test run (``study_reference``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from ase.io import read, write
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.support.cli import api_process
from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.databases import PostgresDatabases
from tests.support.loop_fixtures import SHORT_VALIDATION, drain, small_campaign
from tests.support.once import build_once
from wise_al.campaign_spec.dataset import DatasetSpec
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.campaign_spec.study import StudySpec
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import make_labeller
from wise_al.cp2k.md import ReferenceMdParameters, run_reference_md
from wise_al.cp2k.run import LaunchProfile
from wise_al.db import migrate
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.repositories import CampaignRepository, StudyRepository
from wise_al.jobs.datasets import store_dataset
from wise_al.jobs.studies import create_study
from wise_al.settings import WorkerSettings
from wise_al.systems.cells import pack_cell

# four real campaigns are built before the first test: longer than one test's usual limit
pytestmark = [needs_cp2k, pytest.mark.timeout(1800), pytest.mark.slow]
REFERENCE = "data/study-reference.extxyz"  # under WISE_AL_HOME, where specs name files


@dataclass
class StudySite:
    url: str
    study_id: int

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}/api/v1/studies/{self.study_id}{path}")
        response.raise_for_status()
        return response.json() if path != "/comparison.csv" else response.text


def _reference(work: Path) -> dict[str, Any]:
    """CP2K's own MD of a demo cell at two temperatures: the shared external test set."""
    cell = pack_cell({"LiTFSI": 2, "H2O": 5}, density_g_per_cm3=1.7126, seed=7)
    frames = []
    for k, temperature in enumerate((300.0, 450.0)):
        md = ReferenceMdParameters(temperature, steps=10, save_every=5, seed=k)
        run = run_reference_md(LabellingSpec(), cell, md, detect(), LaunchProfile(), work / f"{k}")
        frames += run.frames
    write(work / "reference.extxyz", frames, format="extxyz")
    return {"file": str(work / "reference.extxyz")}


@pytest.fixture(scope="session")
def study_reference(shared: Path) -> Path:
    """The reference MD, run once per test run and cached for every worker."""
    return Path(build_once(shared / "study-reference", _reference)["file"])


def _run_study(url: str, home: Path, work: Path, reference: Path) -> int:
    sessions = create_session_factory(create_db_engine(url))
    settings = WorkerSettings(home=home, artifact_dir=work / "artifacts", device="cpu")
    (home / REFERENCE).parent.mkdir(exist_ok=True)
    shutil.copyfile(reference, home / REFERENCE)
    aimd = home / "models" / "demo-foundation-data.extxyz"
    first = read(aimd, index=0)
    record, _ = make_labeller(settings, LabellingSpec()).level(first)  # type: ignore[arg-type]
    declared = DatasetSpec(name="demo-aimd", level_of_theory=record, labelling=LabellingSpec())
    base = small_campaign(
        **{
            "model.training.external_test_set": REFERENCE,
            "validation": SHORT_VALIDATION,
            "stopping.max_iterations": 1,
        }
    )
    study = StudySpec.model_validate(
        {
            "name": "paper",
            "description": "from scratch vs fine-tuned vs foundation, and AL vs random",
            "base": base,
            "variants": {
                "from_scratch": {
                    "strategy": "from_scratch",
                    "set": {
                        "model.initial_dataset": "demo-aimd",
                        "model.training.num_channels": 8,
                        "model.training.max_L": 0,
                        "model.training.correlation": 2,
                    },
                },
                "fine_tuned": {},
                "foundation": {"strategy": "foundation"},
                "fine_tuned_random": {"selection": "random"},
            },
        }
    )
    with transaction(sessions) as session:
        with aimd.open("rb") as handle:
            store_dataset(session, settings, declared, handle)
        study_id = create_study(session, study).id
        campaign_ids = [c.id for c in StudyRepository(session).campaigns(study_id)]
        for campaign_id in campaign_ids:
            CampaignRepository(session).control(campaign_id, "start")
    for campaign_id in campaign_ids:
        drain(sessions, settings, campaign_id)
    return study_id


@pytest.fixture(scope="module")
def site(
    postgres: PostgresDatabases,
    demo_home: Path,
    study_reference: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StudySite]:
    url = postgres.create()
    migrate.upgrade(url)
    work = tmp_path_factory.mktemp("study")
    study_id = _run_study(url, demo_home, work, study_reference)
    with api_process(url, work) as base:
        yield StudySite(base, study_id)


@pytest.fixture
def page() -> Iterator[Page]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def test_every_variant_ran_to_its_rule_and_is_scored_on_the_same_frames(site: StudySite) -> None:
    rows = {v["variant"]: v for v in site.get("")["variants"]}
    assert set(rows) == {"from_scratch", "fine_tuned", "foundation", "fine_tuned_random"}
    for name, row in rows.items():
        assert row["status"] == "completed", (name, row["status_reason"])
        assert row["error_split"] == "external" and row["forces_rmse_meV_per_A"] > 0, name
        assert row["validated_iteration"] is not None, name
    assert "trains nothing" in rows["foundation"]["status_reason"]
    assert rows["foundation"]["labels_cp2k"] == 0 and rows["foundation"]["gpu_hours"] > 0
    # one iteration of 3 labels, except from scratch: its iteration 0 trains on the upload
    assert rows["fine_tuned"]["labels_cp2k"] == rows["fine_tuned_random"]["labels_cp2k"] == 3
    assert (rows["from_scratch"]["labels_cp2k"], rows["from_scratch"]["labels_imported"]) == (0, 6)
    assert [p["labels_cp2k"] for p in rows["fine_tuned"]["curve"]] == [3]
    assert all(rows[n]["dft_hours"] > 0 for n in ("fine_tuned", "fine_tuned_random"))
    csv = site.get("/comparison.csv").splitlines()
    assert len(csv) == 5 and csv[0].startswith("variant,seed,campaign_id")


def test_the_study_page_shows_the_variants_side_by_side(page: Page, site: StudySite) -> None:
    page.goto(f"{site.url}/studies")
    page.click(f"a[href='/studies/{site.study_id}'] >> nth=0")
    expect(page.locator("h1")).to_contain_text("paper")
    expect(page.locator("#variants tbody tr")).to_have_count(4)
    expect(page.locator("#variants")).to_contain_text("foundation")
    expect(page.locator("#plot-curves .main-svg").first).to_be_visible()
    expect(page.locator("#plot-curves")).to_contain_text("CP2K labels spent")
    expect(page.locator("#plot-contacts .main-svg").first).to_be_visible()
    link = page.locator("a", has_text="comparison as CSV").get_attribute("href")
    assert httpx.get(f"{site.url}{link}").text.count("\n") == 5
    page.locator("#variants tbody tr").first.locator("a").first.click()  # its campaign page
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    page.goto(f"{site.url}/studies/{site.study_id}")
    page.screenshot(path=SCREENSHOTS / "study.png", full_page=True)
