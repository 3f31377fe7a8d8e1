"""Dataset uploads over REST: checked frame by frame, refused naming frame and field with
nothing stored, kept under their content hash, and named by campaign specs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.api.app import create_app
from tests.support.api_fixtures import CAMPAIGNS, Api
from tests.support.factories import example_spec, with_value
from wise_al.db.engine import transaction
from wise_al.db.models import Dataset
from wise_al.db.repositories import TokenRepository
from wise_al.settings import ApiSettings
from wise_al.systems.levels import sha256_of

DATASETS = "/api/v1/datasets"
DATA = Path(__file__).parents[1] / "data" / "li_water_xtb.extxyz"
#: A GFN1-xTB level record as wise-al writes it (the data file hashes made up).
XTB_LEVEL: dict[str, Any] = {
    "code": "CP2K",
    "code_version": "2023.1",
    "code_build": "test",
    "method": "GFN1-xTB",
    "eps_scf": 1e-6,
    "cp2k_overrides": {},
    "data_files_sha256": {"xTB_parameters": "0" * 64, "dftd3.dat": "1" * 64},
}


def metadata(name: str = "clusters", **fields: Any) -> dict[str, Any]:
    return {"name": name, "level_of_theory": XTB_LEVEL, "labelling": {"method": "xtb"}} | fields


def upload(api: Api, path: Path, meta: dict[str, Any], auth: bool = True) -> Any:
    with path.open("rb") as handle:
        return api.client.post(
            DATASETS,
            data={"metadata": json.dumps(meta)},
            files={"file": (path.name, handle, "chemical/x-extxyz")},
            headers=api.auth if auth else {},
        )


def stored(api: Api) -> tuple[int, list[str]]:
    with api.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(Dataset)) or 0
    store = api.client.app.state.settings.resolved_artifact_dir() / "datasets"  # type: ignore[attr-defined]
    return rows, sorted(p.name for p in store.glob("*")) if store.exists() else []


def test_an_upload_is_checked_stored_by_hash_and_served_back(api: Api) -> None:
    response = upload(api, DATA, metadata(description="Li+ in water, xTB"))
    assert response.status_code == 201, response.text
    row = response.json()
    assert row["summary"]["frames"] == 40 and row["summary"]["elements"] == ["H", "Li", "O"]
    assert row["level_sha256"] == sha256_of(XTB_LEVEL) and row["created_by"] == "tester"
    assert stored(api) == (1, [f"{row['sha256']}.extxyz"])
    again = upload(api, DATA, metadata())
    assert again.status_code == 200 and again.json()["id"] == row["id"]  # a retried request
    listed = api.client.get(DATASETS).json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "clusters"
    file = api.client.get(f"{DATASETS}/{row['id']}/file")
    assert file.content == DATA.read_bytes()
    assert file.headers["x-content-sha256"] == row["sha256"]
    assert api.client.get(f"{DATASETS}/999").status_code == 404


def test_the_same_name_with_other_content_is_a_conflict(api: Api, tmp_path: Path) -> None:
    assert upload(api, DATA, metadata()).status_code == 201
    fewer = tmp_path / "fewer.extxyz"
    write(fewer, read(DATA, index=":5"), format="extxyz")
    conflict = upload(api, fewer, metadata())
    assert conflict.status_code == 409 and "name" in conflict.json()["message"]
    assert stored(api)[0] == 1


def _spoiled(tmp_path: Path, spoil: str) -> Path:
    frames = read(DATA, index=":6")
    assert isinstance(frames, list)
    atoms = frames[4]
    if spoil == "nan_force":
        atoms.arrays["REF_forces"][2, 0] = np.nan
    elif spoil == "shape":  # two components per atom
        atoms.arrays["REF_forces"] = atoms.arrays["REF_forces"][:, :2].copy()
    elif spoil == "no_energy":
        del atoms.info["REF_energy"]
    elif spoil == "level":
        atoms.info["REF_level_sha256"] = "f" * 64
    path = tmp_path / f"{spoil}.extxyz"
    write(path, frames, format="extxyz")
    if spoil == "element":
        lines = path.read_text().splitlines()
        start = sum(len(a) + 2 for a in frames[:4])  # frame 4's atom-count line
        lines[start + 2] = "Qq" + lines[start + 2][2:]
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        ("nan_force", "REF_forces"),
        ("element", "symbols"),
        ("shape", "REF_forces"),
        ("no_energy", "REF_energy"),
        ("level", "REF_level_sha256"),
    ],
)
def test_a_bad_frame_is_refused_naming_frame_and_field_and_nothing_is_stored(
    api: Api, tmp_path: Path, spoil: str, field: str
) -> None:
    before = stored(api)
    response = upload(api, _spoiled(tmp_path, spoil), metadata())
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith(f"frame 4, {field}: ")
    assert stored(api) == before  # no row, no file, no temporary left


def test_the_declared_level_is_required_and_must_agree_with_its_labelling(api: Api) -> None:
    missing = upload(api, DATA, {"name": "x"})
    assert missing.status_code == 422 and "level_of_theory" in missing.json()["message"]
    other = metadata(labelling={"method": "dft", "functional": "PBE"})
    disagree = upload(api, DATA, other)
    assert disagree.status_code == 422 and "labelling" in disagree.json()["message"]
    bad_name = upload(api, DATA, metadata(name="../etc"))
    assert bad_name.status_code == 422 and "name" in bad_name.json()["message"]
    assert upload(api, DATA, metadata(), auth=False).status_code == 401
    assert stored(api) == (0, [])


@pytest.fixture()
def small_limit(
    database_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> Iterator[Api]:
    settings = ApiSettings(home=tmp_path, database_url=database_url, max_upload_bytes=20_000)
    with transaction(session_factory) as session:
        _, secret = TokenRepository(session).create("tester")
    with TestClient(create_app(settings)) as client:
        yield Api(client, secret, session_factory)


def test_an_upload_over_the_size_limit_is_refused_while_it_streams(small_limit: Api) -> None:
    assert DATA.stat().st_size > 20_000
    response = upload(small_limit, DATA, metadata())
    assert response.status_code == 413 and "20000 bytes" in response.json()["message"]
    assert stored(small_limit) == (0, [])


def test_campaigns_may_name_only_uploaded_datasets_that_fit(api: Api, tmp_path: Path) -> None:
    spec = with_value(example_spec(), "model.strategy", "from_scratch")
    spec = with_value(spec, "model.initial_dataset", "clusters")
    unknown = api.client.post(CAMPAIGNS, json=spec, headers=api.auth)
    assert unknown.status_code == 422
    assert "model.initial_dataset: no dataset named 'clusters'" in unknown.json()["message"]
    assert upload(api, DATA, metadata()).status_code == 201
    dft = with_value(spec, "labelling", {"method": "dft"})
    other_level = api.client.post(CAMPAIGNS, json=dft, headers=api.auth)
    assert other_level.status_code == 422 and "another level" in other_level.json()["message"]
    assert api.client.post(CAMPAIGNS, json=spec, headers=api.auth).status_code == 201
    bare = tmp_path / "starts.extxyz"
    frames = read(DATA, index=":2")
    assert isinstance(frames, list)
    write(bare, [Atoms(a.numbers, a.positions, cell=a.cell, pbc=a.pbc) for a in frames])
    assert upload(api, bare, {"name": "starts", "kind": "structures"}).status_code == 201
    as_labels = with_value(spec, "model.initial_dataset", "starts")
    wrong_kind = api.client.post(CAMPAIGNS, json=as_labels, headers=api.auth)
    assert wrong_kind.status_code == 422 and "holds structures" in wrong_kind.json()["message"]
    assert api.campaign_count() == 1


def test_the_python_client_streams_an_upload_and_lists_it(api: Api) -> None:
    from wise_al.client import ApiError, WiseAlClient

    transport = api.client._transport  # the app in-process, as httpx sees it
    with WiseAlClient("http://testserver", api.token, transport=transport) as client:
        row = client.upload_dataset(DATA, metadata())
        assert row["summary"]["frames"] == 40
        assert client.list_datasets()["items"][0]["sha256"] == row["sha256"]
        with pytest.raises(ApiError) as refused:
            client.upload_dataset(DATA, metadata(level_of_theory=None))
    assert refused.value.status_code == 422
