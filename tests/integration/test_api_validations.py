"""Validations over REST and on the server-rendered page: summaries without curves, the full
read, the trajectory download (artifact store only), and readable 404s."""

from __future__ import annotations

from pathlib import Path

import pytest
from ase.io import read, write

from tests.support.api_fixtures import CAMPAIGNS, Api
from tests.support.factories import example_spec, jiggled_frames, with_value
from wise_al.db.engine import transaction
from wise_al.db.repositories import ValidationRepository
from wise_al.mace.fit import file_sha256
from wise_al.observables.contacts import closest_li_li_A
from wise_al.observables.registry import OBSERVABLES
from wise_al.observables.report import observe
from wise_al.observables.scores import score_report
from wise_al.systems.cells import pack_cell


@pytest.fixture()
def validated(api: Api) -> tuple[int, Path]:
    """A campaign whose iteration 0 holds a validation of a real (jiggled) trajectory."""
    spec = with_value(example_spec(), "validation", {"enabled": True, "steps": 100})
    campaign_id = api.create(spec)["id"]
    cell = pack_cell({"LiTFSI": 2, "H2O": 5}, density_g_per_cm3=1.7126, seed=0)
    frames = jiggled_frames(cell, 10, 0.03)
    store = api.client.app.state.settings.resolved_artifact_dir()  # type: ignore[attr-defined]
    trajectory = store / "campaigns" / str(campaign_id) / "iteration-0" / "validation.extxyz"
    trajectory.parent.mkdir(parents=True)
    write(trajectory, frames)
    report = observe(frames, frame_interval_fs=10.0)
    with transaction(api.sessions) as session:
        repo = ValidationRepository(session)
        repo.start(campaign_id, 0, {"steps": 100})
        repo.record(
            campaign_id,
            0,
            observables=report,
            scores=score_report(report),
            steps_done=100,
            frames=10,
            trajectory_path=str(trajectory),
            trajectory_sha256=file_sha256(trajectory),
        )
        repo.start(campaign_id, 1, {"steps": 100})
        repo.record_failure(campaign_id, 1, "the MD blew up at step 40")
    return campaign_id, trajectory


def test_validations_are_listed_without_curves_and_read_in_full(
    api: Api, validated: tuple[int, Path]
) -> None:
    campaign_id, trajectory = validated
    listed = api.client.get(f"{CAMPAIGNS}/{campaign_id}/validations").json()
    assert [(v["iteration_index"], v["status"]) for v in listed] == [(0, "done"), (1, "failed")]
    assert listed[1]["error"] == "the MD blew up at step 40"
    summary = listed[0]
    assert "sq" not in summary["observables"] and "rdf" not in summary["observables"]
    assert summary["observables"]["frames"] == 10
    # what the demo's contacts table reads: the closest Li–Li pair, from the trajectory
    closest = min(closest_li_li_A(atoms) or float("inf") for atoms in read(trajectory, ":"))
    assert summary["observables"]["li_li_closest_A"] == pytest.approx(closest)
    assert {s["metric"] for s in summary["scores"]} >= {"density_error_percent", "sq_r_factor"}
    full = api.client.get(f"{CAMPAIGNS}/{campaign_id}/validations/0").json()
    assert len(full["observables"]["sq"]) == len(full["observables"]["sq_q_per_A"])
    assert full["parameters"] == {"steps": 100}
    download = api.client.get(f"{CAMPAIGNS}/{campaign_id}/validations/0/trajectory.extxyz")
    assert download.status_code == 200 and download.content == trajectory.read_bytes()
    assert download.headers["X-Content-SHA256"] == file_sha256(trajectory)


def test_missing_validations_are_readable_404s(api: Api, validated: tuple[int, Path]) -> None:
    campaign_id, _ = validated
    missing = api.client.get(f"{CAMPAIGNS}/{campaign_id}/validations/7")
    assert (
        missing.status_code == 404 and "no validation of iteration 7" in missing.json()["message"]
    )
    assert api.client.get(f"{CAMPAIGNS}/999/validations").status_code == 404
    # a failed validation has no trajectory: nothing outside the store is ever served
    failed = api.client.get(f"{CAMPAIGNS}/{campaign_id}/validations/1/trajectory.extxyz")
    assert failed.status_code == 404 and "not in the artifact store" in failed.json()["message"]
    assert api.client.get(f"{CAMPAIGNS}/{campaign_id}/validations/-1").status_code == 422


def test_the_validation_page_renders_grades_and_plots(
    api: Api, validated: tuple[int, Path]
) -> None:
    campaign_id, _ = validated
    page = api.client.get(f"/campaigns/{campaign_id}/validation")
    assert page.status_code == 200
    html = page.text
    assert 'id="plot-sq"' in html and 'id="plot-rdf"' in html and 'id="plot-density"' in html
    assert 'id="plot-convergence"' in html
    assert "the MD blew up at step 40" in html and "grade-" in html and "1.93" in html
    # the table's columns are the registry's, the Li⁺ self-diffusion among them
    header = html.split('id="validations"')[1].split("</thead>")[0]
    assert all(o.label in header for o in OBSERVABLES.values() if o.in_table)
    assert "D Li+ (Å²/ps)" in header
    listed = api.client.get(f"{CAMPAIGNS}/{campaign_id}/validations").json()
    d_li = listed[0]["observables"]["diffusion_A2_per_ps"]["Li+"]["d"]
    assert f">{d_li:.4f}" in html.split('id="validations"')[1].split("</table>")[0]
    assert api.client.get(f"/campaigns/{campaign_id}/validation?iteration=1").status_code == 404
    off = api.create(with_value(example_spec(), "validation.enabled", False))["id"]
    assert "Validation is off" in api.client.get(f"/campaigns/{off}/validation").text
