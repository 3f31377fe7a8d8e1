"""Frames, reviews, labels, models and dataset export over REST, on both backends.

Rows are written through the ORM as the jobs would write them (tests/e2e runs real jobs).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from ase.io import read
from sqlalchemy import select

from tests.support.api_fixtures import CAMPAIGNS, Api, explored_campaign
from wise_al.db.engine import transaction
from wise_al.db.models import (
    Frame,
    FrameStatus,
    ModelVersion,
)


def _frames(api: Api, campaign_id: int, **params: Any) -> list[int]:
    response = api.client.get(f"{CAMPAIGNS}/{campaign_id}/frames", params=params)
    assert response.status_code == 200, response.text
    return [f["id"] for f in response.json()["items"]]


def test_frames_filter_sort_and_page(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    assert _frames(api, campaign_id) == ids
    assert _frames(api, campaign_id, status="selected") == ids[:2]
    assert _frames(api, campaign_id, flag="min_distance") == [ids[0], ids[3]]
    assert _frames(api, campaign_id, min_deviation=0.05, max_deviation=0.1) == ids[1:3]
    assert _frames(api, campaign_id, sort="-deviation", limit=2) == ids[:2]
    assert _frames(api, campaign_id, sort="-deviation", limit=2, offset=2) == ids[2:]
    assert _frames(api, campaign_id, iteration=1) == []
    bad = api.client.get(f"{CAMPAIGNS}/{campaign_id}/frames", params={"status": "bogus"})
    assert bad.status_code == 422 and "status" in bad.json()["message"]
    assert api.client.get(f"{CAMPAIGNS}/999/frames").status_code == 404


def test_frame_detail_and_extxyz(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    detail = api.client.get(f"{CAMPAIGNS}/{campaign_id}/frames/{ids[0]}").json()
    assert detail["walker_index"] == 0 and detail["md_step"] == 10
    assert detail["walker_conditions"] == {"temperature_K": 300.0}
    assert detail["flags"][0]["message"] == "Li-Li 2.1 Å"
    assert len(detail["atom_deviations_eV_per_A"]) == len(detail["structure"]["symbols"])
    text = api.client.get(f"{CAMPAIGNS}/{campaign_id}/frames/{ids[0]}/structure.extxyz").text
    (atoms,) = read(io.StringIO(text), format="extxyz", index=":")
    assert atoms.get_chemical_symbols() == detail["structure"]["symbols"]
    assert np.allclose(atoms.positions, detail["structure"]["positions_A"])
    other = int(api.create()["id"])
    assert api.client.get(f"{CAMPAIGNS}/{other}/frames/{ids[0]}").status_code == 404


def test_reviews_accept_reject_and_refuse(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    url = f"{CAMPAIGNS}/{campaign_id}/frames/{{}}/review"
    no_reason = api.client.post(url.format(ids[0]), json={"decision": "reject"}, headers=api.auth)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["message"]
    unauthenticated = api.client.post(url.format(ids[0]), json={"decision": "accept"})
    assert unauthenticated.status_code == 401
    rejected = api.client.post(
        url.format(ids[0]),
        json={"decision": "reject", "reason": "packing artefact"},
        headers=api.auth,
    )
    assert rejected.status_code == 201 and rejected.json()["reviewer"] == "tester"
    again = api.client.post(url.format(ids[0]), json={"decision": "accept"}, headers=api.auth)
    assert again.status_code == 409 and "reviewed already" in again.json()["message"]
    labelled = api.client.post(url.format(ids[1]), json={"decision": "accept"}, headers=api.auth)
    assert labelled.status_code == 409 and "labelled already" in labelled.json()["message"]
    candidate = api.client.post(url.format(ids[2]), json={"decision": "accept"}, headers=api.auth)
    assert candidate.status_code == 409 and "candidate" in candidate.json()["message"]
    with transaction(api.sessions) as session:
        statuses = dict(session.execute(select(Frame.id, Frame.status)).all())
    assert statuses[ids[0]] == FrameStatus.REJECTED and statuses[ids[2]] == FrameStatus.CANDIDATE
    detail = api.client.get(f"{CAMPAIGNS}/{campaign_id}/frames/{ids[0]}").json()
    assert [r["reason"] for r in detail["reviews"]] == ["packing artefact"]


def test_labels_models_download_and_dataset(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = explored_campaign(api, tmp_path)
    labels = api.client.get(f"{CAMPAIGNS}/{campaign_id}/labels").json()
    assert [(x["frame_id"], x["energy_eV"]) for x in labels] == [(ids[1], -123.4)]
    models = api.client.get(f"{CAMPAIGNS}/{campaign_id}/models").json()
    download = api.client.get(f"{CAMPAIGNS}/{campaign_id}/models/{models[0]['id']}/download")
    assert download.status_code == 200 and download.content == b"model bytes"
    assert download.headers["x-content-sha256"] == models[0]["file_sha256"]
    text = api.client.get(f"{CAMPAIGNS}/{campaign_id}/dataset.extxyz").text
    (frame,) = read(io.StringIO(text), format="extxyz", index=":")
    assert frame.info["REF_energy"] == -123.4 and frame.info["frame_id"] == ids[1]
    assert np.allclose(frame.arrays["REF_forces"], 0.5)
    # a row pointing outside the artifact store is never served
    with transaction(api.sessions) as session:
        version = session.get_one(ModelVersion, models[0]["id"])
        version.file_path = "/etc/passwd"
    outside = api.client.get(f"{CAMPAIGNS}/{campaign_id}/models/{models[0]['id']}/download")
    assert outside.status_code == 404
