"""The REST API in-process (FastAPI's TestClient) on a migrated test database, with a token."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.api.app import create_app
from tests.support.factories import example_spec, with_value
from wise_al.db.base import Base
from wise_al.db.engine import transaction
from wise_al.db.models import (
    Campaign,
    Frame,
    FrameFlag,
    FrameStatus,
    Iteration,
    Label,
    ModelVersion,
    Phase,
    RunStatus,
    WalkerRun,
)
from wise_al.db.repositories import TokenRepository
from wise_al.settings import ApiSettings
from wise_al.systems.cells import pack_cell
from wise_al.systems.structures import structure_to_dict

CAMPAIGNS = "/api/v1/campaigns"


@dataclass
class Api:
    client: TestClient
    token: str
    sessions: sessionmaker[Session]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def campaign_count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(Campaign)) or 0

    def create(self, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(CAMPAIGNS, json=spec or example_spec(), headers=self.auth)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


def table_digest(sessions: sessionmaker[Session]) -> str:
    """Every row of every table, hashed, but what signing in records (a token's last use,
    dashboard sessions): tests sign in between the digests they compare."""
    digest = hashlib.sha256()
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "dashboard_session":
                continue
            columns = [c for c in table.columns if c.name != "last_used_at"]
            for row in session.execute(select(*columns).order_by(*table.primary_key)).all():
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def api(database_url: str, tmp_path: Path, session_factory: sessionmaker[Session]) -> Iterator[Api]:
    settings = ApiSettings(home=tmp_path, database_url=database_url, max_body_bytes=65_536)
    with transaction(session_factory) as session:
        _, secret = TokenRepository(session).create("tester")
    with TestClient(create_app(settings)) as client:
        yield Api(client, secret, session_factory)


LEVEL = "a" * 64


#: What a trained and calibrated iteration records (the numbers are made up, the shape real).
ITERATION_METRICS: dict[str, Any] = {
    "evaluation": {
        "members": 2,
        "valid_forces_rmse_meV_per_A": 111.0,
        "test_forces_rmse_meV_per_A": 222.0,
        "valid_energy_rmse_meV_per_atom": 3.5,
        "test_energy_rmse_meV_per_atom": 4.5,
    },
    "calibration": {
        "status": "done",
        "committee_iteration": 0,
        "frames": 2,
        "dispersion_ratio": 0.02,
        "under_dispersed": True,
        "failed_truth": 1,
        "missed": 1,
        "predicted_max_eV_per_A": [0.004, 0.006],
        "true_max_eV_per_A": [0.2, 0.45],
    },
}


def explored_campaign(api: Api, tmp_path: Path, gate: str = "required") -> tuple[int, list[int]]:
    """A campaign with one iteration: four frames of several statuses, one labelled."""
    campaign_id = int(api.create(with_value(example_spec(), "review.gate", gate))["id"])
    atoms = pack_cell({"LiTFSI": 2, "H2O": 5}, seed=0)
    model = tmp_path / "artifacts" / "campaigns" / str(campaign_id) / "member0.model"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"model bytes")
    with transaction(api.sessions) as session:
        iteration = Iteration(
            campaign_id=campaign_id, index=0, phase=Phase.LABEL, metrics=ITERATION_METRICS
        )
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
                FrameFlag(kind=k, atoms=[0, 1], value=2.1, threshold=2.6, message="Li-Li 2.1 Å")
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
