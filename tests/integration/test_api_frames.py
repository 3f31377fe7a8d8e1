"""Frames, reviews, labels, models and dataset export over REST, on both backends.

Rows are written through the ORM as the jobs would write them (tests/e2e runs real jobs).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
from ase.io import read
from sqlalchemy import select

from tests.api_fixtures import CAMPAIGNS, Api
from wise_al.db.engine import transaction
from wise_al.db.models import (
    Flag,
    Frame,
    FrameStatus,
    Iteration,
    Label,
    ModelVersion,
    Phase,
    RunStatus,
    WalkerRun,
)
from wise_al.systems.cells import pack_cell
from wise_al.systems.structures import structure_to_dict

LEVEL = "a" * 64


def _explored(api: Api, tmp_path: Path) -> tuple[int, list[int]]:
    """A campaign with one iteration: four frames of several statuses, one labelled."""
    campaign_id = int(api.create()["id"])
    atoms = pack_cell({"LiTFSI": 2, "H2O": 5}, seed=0)
    model = tmp_path / "artifacts" / "campaigns" / str(campaign_id) / "member0.model"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"model bytes")
    with transaction(api.sessions) as session:
        iteration = Iteration(campaign_id=campaign_id, index=0, phase=Phase.LABEL)
        session.add(iteration)
        session.flush()
        walker = WalkerRun(
            iteration_id=iteration.id,
            walker_index=0,
            conditions={"temperature_K": 300.0},
            seed=1,
            trajectory_path="walker-0.extxyz",
        )
        session.add(walker)
        session.flush()
        specs: list[tuple[FrameStatus, float, list[str]]] = [
            (FrameStatus.SELECTED, 0.12, ["min_distance"]),
            (FrameStatus.SELECTED, 0.08, []),
            (FrameStatus.CANDIDATE, 0.06, []),
            (FrameStatus.ACCURATE, 0.01, ["min_distance"]),
        ]
        ids = []
        for step, (status, deviation, kinds) in enumerate(specs):
            frame = Frame(
                campaign_id=campaign_id,
                iteration_id=iteration.id,
                walker_run_id=walker.id,
                md_step=10 * (step + 1),
                status=status,
                max_deviation_eV_per_A=deviation,
                atom_deviations_eV_per_A=[deviation] * len(atoms),
                n_atoms=len(atoms),
                structure=structure_to_dict(atoms),
                selection_reason="test",
            )
            frame.flags = [
                Flag(kind=k, atoms=[0, 1], value=2.1, threshold=2.6, message="Li-Li 2.1 Å")
                for k in kinds
            ]
            session.add(frame)
            session.flush()
            ids.append(frame.id)
        forces = np.full((len(atoms), 3), 0.5).tolist()
        session.add(
            Label(
                frame_id=ids[1],
                level_of_theory={"method": "xtb"},
                level_sha256=LEVEL,
                status=RunStatus.DONE,
                energy_eV=-123.4,
                forces_eV_per_A=forces,
            )
        )
        session.add(
            ModelVersion(
                campaign_id=campaign_id,
                iteration_index=0,
                member_index=0,
                strategy="fine_tune_naive",
                status=RunStatus.DONE,
                file_path=str(model),
                file_sha256=hashlib.sha256(b"model bytes").hexdigest(),
            )
        )
    return campaign_id, ids


def _frames(api: Api, campaign_id: int, **params: Any) -> list[int]:
    response = api.client.get(f"{CAMPAIGNS}/{campaign_id}/frames", params=params)
    assert response.status_code == 200, response.text
    return [f["id"] for f in response.json()["items"]]


def test_frames_filter_sort_and_page(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = _explored(api, tmp_path)
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
    campaign_id, ids = _explored(api, tmp_path)
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
    campaign_id, ids = _explored(api, tmp_path)
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
        statuses = dict(session.execute(select(Frame.id, Frame.status)).tuples().all())
    assert statuses[ids[0]] == FrameStatus.REJECTED and statuses[ids[2]] == FrameStatus.CANDIDATE
    detail = api.client.get(f"{CAMPAIGNS}/{campaign_id}/frames/{ids[0]}").json()
    assert [r["reason"] for r in detail["reviews"]] == ["packing artefact"]


def test_labels_models_download_and_dataset(api: Api, tmp_path: Path) -> None:
    campaign_id, ids = _explored(api, tmp_path)
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
