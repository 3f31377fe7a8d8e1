"""Start the API from a venv that holds only ``.[api]``, and read what users read.

``make api-check`` builds that venv (no torch, no mace, no worker) and runs this: the API
image installs exactly these dependencies, so an import that reaches a worker-only library
fails here first. It migrates a fresh SQLite home, stores a campaign with one labelled
frame, starts uvicorn, and fetches the health check, the campaign's dashboard page and its
dataset as extxyz. Exit code 0 when all three answer as they should.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from ase import Atoms

from wise_al.campaign_spec.io import load_spec
from wise_al.db import migrate
from wise_al.db.base import utcnow
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.models import Frame, FrameStatus, Iteration, Label, RunStatus
from wise_al.db.repositories import CampaignRepository
from wise_al.settings import CoreSettings
from wise_al.systems.structures import structure_to_dict

REPO = Path(__file__).resolve().parents[1]
WORKER_ONLY = ("torch", "mace", "e3nn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _store_campaign(settings: CoreSettings) -> int:
    """A campaign with one selected, labelled water frame."""
    url = settings.resolved_database_url()
    migrate.upgrade(url)
    sessions = create_session_factory(create_db_engine(url))
    water = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], cell=[8] * 3)
    with transaction(sessions) as session:
        campaign = CampaignRepository(session).create(load_spec(REPO / "examples" / "demo.yaml"))
        iteration = Iteration(campaign_id=campaign.id, index=0)
        session.add(iteration)
        session.flush()
        frame = Frame(
            campaign_id=campaign.id,
            iteration_id=iteration.id,
            md_step=5,
            status=FrameStatus.SELECTED,
            n_atoms=3,
            structure=structure_to_dict(water),
        )
        session.add(frame)
        session.flush()
        session.add(
            Label(
                frame_id=frame.id,
                level_of_theory={"code": "CP2K", "method": "GFN1-xTB"},
                level_sha256="a" * 64,
                status=RunStatus.DONE,
                energy_eV=-150.0,
                forces_eV_per_A=[[0.1, 0.0, 0.0], [-0.05, 0.0, 0.0], [-0.05, 0.0, 0.0]],
                finished_at=utcnow(),
            )
        )
        return campaign.id


def main() -> int:
    present = [name for name in WORKER_ONLY if importlib.util.find_spec(name) is not None]
    if present:
        print(f"not an API-only venv: {', '.join(present)} installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "WISE_AL_HOME": home}
        os.environ["WISE_AL_HOME"] = home
        campaign_id = _store_campaign(CoreSettings())
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "services.api.app:create_app",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    print(f"the API exited with code {server.returncode}", file=sys.stderr)
                    return 1
                try:
                    health = httpx.get(f"{base}/api/v1/health", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            page = httpx.get(f"{base}/campaigns/{campaign_id}", timeout=30)
            dataset = httpx.get(f"{base}/api/v1/campaigns/{campaign_id}/dataset.extxyz")
        finally:
            server.terminate()
            server.wait(timeout=30)
    checks = {
        "health": health.status_code == 200 and health.json().get("status") == "ok",
        "campaign page": page.status_code == 200 and "demo" in page.text,
        "dataset.extxyz": dataset.status_code == 200 and "REF_energy=-150" in dataset.text,
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
