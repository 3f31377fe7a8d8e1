"""Studies over REST and on the server-rendered pages: one draft campaign per variant, all or
nothing; the comparison reads what the units recorded; CSV; start checks every campaign."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.support.api_fixtures import CAMPAIGNS, Api
from tests.support.factories import example_spec
from wise_al.db.base import utcnow
from wise_al.db.engine import transaction
from wise_al.db.models import (
    Campaign,
    Frame,
    FrameStatus,
    Iteration,
    Label,
    Phase,
    RunStatus,
    Study,
    TaskRun,
)
from wise_al.db.repositories import ValidationRepository

STUDIES = "/api/v1/studies"


def study_body(**variants: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "paper",
        "description": "fine-tuned vs foundation",
        "base": example_spec(),
        "variants": variants or {"fine_tuned": {}, "foundation": {"strategy": "foundation"}},
    }


def counts(api: Api) -> tuple[int, int]:
    with api.sessions() as session:
        studies = session.scalar(select(func.count()).select_from(Study)) or 0
        campaigns = session.scalar(select(func.count()).select_from(Campaign)) or 0
    return studies, campaigns


def _record_results(api: Api, campaign_id: int) -> None:
    """What a finished iteration leaves: evaluation, a label, a validation, a trained unit."""
    now = utcnow()
    evaluation = {"external_forces_rmse_meV_per_A": 120.0, "external_energy_rmse_meV_per_atom": 4.0}
    with transaction(api.sessions) as session:
        iteration = Iteration(
            campaign_id=campaign_id, index=0, phase=Phase.DONE, metrics={"evaluation": evaluation}
        )
        session.add(iteration)
        session.flush()
        frame = Frame(
            campaign_id=campaign_id, iteration_id=iteration.id, md_step=0,
            status=FrameStatus.SELECTED, n_atoms=1, structure={},
        )  # fmt: skip
        session.add(frame)
        session.flush()
        session.add(
            Label(
                frame_id=frame.id, level_of_theory={}, level_sha256="l", status=RunStatus.DONE,
                energy_eV=-1.0, forces_eV_per_A=[[0, 0, 0]], wall_time_s=1800.0,
            )
        )  # fmt: skip
        session.add(
            TaskRun(
                campaign_id=campaign_id, unit="train", unit_key=f"c/{campaign_id}/train",
                status=RunStatus.DONE, started_at=now - timedelta(hours=2), finished_at=now,
            )
        )  # fmt: skip
        validations = ValidationRepository(session)
        validations.start(campaign_id, 0, {"ensemble": "NPT"})  # density is an NPT result
        observables = {
            "li_li_contact_fraction": 0.25,
            "density_g_per_cm3": 1.80,
            "density_ensemble": "NPT",
            "sq_r_factor": 0.3,
            "sq_min_q_per_A": 0.31,  # a 20 Å cell: 3 wave vectors below the first peak
        }
        validations.record(campaign_id, 0, observables=observables, scores=[])


def test_a_study_becomes_one_draft_campaign_per_variant_and_compares_them(api: Api) -> None:
    response = api.client.post(STUDIES, json=study_body(), headers=api.auth)
    assert response.status_code == 201, response.text
    study = response.json()
    rows = {v["variant"]: v for v in study["variants"]}
    assert set(rows) == {"fine_tuned", "foundation"} and counts(api) == (1, 2)
    assert all(v["status"] == "draft" and v["labels_cp2k"] == 0 for v in rows.values())
    spec = api.client.get(f"{CAMPAIGNS}/{rows['foundation']['campaign_id']}/spec").json()
    assert spec["model"]["strategy"] == "foundation" and spec["name"] == "paper-foundation"
    # a study's draft campaign is not deleted behind its back: the variant would vanish
    deleted = api.client.delete(
        f"{CAMPAIGNS}/{rows['foundation']['campaign_id']}", headers=api.auth
    )
    assert deleted.status_code == 409 and "variant 'foundation' of study" in deleted.text
    assert counts(api) == (1, 2)
    _record_results(api, rows["fine_tuned"]["campaign_id"])
    tuned = next(
        v for v in api.client.get(f"{STUDIES}/{study['id']}").json()["variants"]
        if v["variant"] == "fine_tuned"
    )  # fmt: skip
    assert (tuned["error_split"], tuned["forces_rmse_meV_per_A"]) == ("external", 120.0)
    assert tuned["labels_cp2k"] == 1 and tuned["dft_hours"] == 0.5
    assert abs(tuned["gpu_hours"] - 2.0) < 1e-6
    assert tuned["li_li_contact_fraction"] == 0.25
    assert abs(tuned["density_error_percent"] - 100 * (1.80 / 1.7126 - 1)) < 1e-9
    assert tuned["sq_r_factor"] == 0.3 and tuned["cn_li_o_water_error"] is None  # no CN measured
    assert tuned["curve"] == [
        {"iteration": 0, "labels_cp2k": 1, "energy_rmse_meV_per_atom": 4.0,
         "forces_rmse_meV_per_A": 120.0, "stress_rmse_meV_per_A3": None}
    ]  # fmt: skip
    csv = api.client.get(f"{STUDIES}/{study['id']}/comparison.csv")
    lines = csv.text.strip().splitlines()
    assert csv.headers["content-type"].startswith("text/csv") and len(lines) == 3
    assert lines[0].startswith("variant,seed,campaign_id,status")
    assert lines[0].endswith(",density_error_percent,sq_r_factor,cn_li_o_water_error,"
                             "cn_li_o_tfsi_error,li_li_contact_fraction")  # fmt: skip
    assert "fine_tuned,0," in csv.text and ",120.0," in csv.text
    listed = api.client.get(STUDIES).json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "paper"
    page = api.client.get(f"/studies/{study['id']}")
    assert page.status_code == 200 and page.text.count("<tr>") == 3  # head and two variants
    assert "plot-curves" in page.text and ">0.25<" in page.text
    assert "/studies/" in api.client.get("/studies").text


def test_an_invalid_variant_writes_nothing_and_is_named(api: Api) -> None:
    bad = study_body(ok={}, broken={"set": {"model.committee_size": 99}})
    response = api.client.post(STUDIES, json=bad, headers=api.auth)
    assert response.status_code == 422
    assert response.json()["message"].startswith("variants.broken: model.committee_size")
    shared = study_body(x={"set": {"validation.steps": 5}})
    assert api.client.post(STUDIES, json=shared, headers=api.auth).status_code == 422
    assert api.client.post(STUDIES, json=study_body()).status_code == 401
    assert counts(api) == (0, 0)


def test_starting_a_study_checks_every_campaign_first(api: Api) -> None:
    study = api.client.post(STUDIES, json=study_body(), headers=api.auth).json()
    refused = api.client.post(f"{STUDIES}/{study['id']}/start", headers=api.auth)
    assert refused.status_code == 409 and "model.foundation" in refused.json()["message"]
    with api.sessions() as session:
        assert set(session.scalars(select(Campaign.status)).all()) == {"draft"}
    home: Path = api.client.app.state.settings.home  # type: ignore[attr-defined]
    (home / "models").mkdir(parents=True, exist_ok=True)
    (home / "models" / "demo-foundation.model").write_bytes(b"a model")
    started = api.client.post(f"{STUDIES}/{study['id']}/start", headers=api.auth)
    assert started.status_code == 200, started.text
    assert {v["status"] for v in started.json()["variants"]} == {"running"}
    assert api.client.get(f"{STUDIES}/999").status_code == 404
