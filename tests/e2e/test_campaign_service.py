"""The service end to end with real processes: PostgreSQL, Redis, the API, one Celery worker
per queue (gpu, dft, default), real CP2K xTB and a real tiny MACE committee.

The GPU queue runs on this CPU (no GPU here): the worker is the same, only its device differs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from services.worker.routes import ROUTES
from tests.support.cli import free_port
from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.databases import PostgresDatabases
from tests.support.loop_fixtures import small_campaign
from tests.support.service import (
    Service,
    consistency,
    deployment,
    finished,
    running_unit,
    wait_for,
)
from wise_al.client import WiseAlClient
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.models import Frame, RunStatus, TaskRun
from wise_al.loop import Unit

#: One deployment for the module, so its tests share Redis database 7: one worker runs them.
pytestmark = [
    needs_cp2k,
    pytest.mark.slow,
    pytest.mark.processes,
    pytest.mark.xdist_group("redis-7"),
]

#: A Redis database of its own, flushed before the deployment starts.
BROKER_DB = 7


@pytest.fixture(scope="module")
def service(
    postgres: PostgresDatabases, demo_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, WiseAlClient]]:
    """API + three workers on PostgreSQL and Redis, sharing the demo home's models; each test
    runs a campaign of its own on it."""
    tmp_path = tmp_path_factory.mktemp("service")
    server = os.environ.get("WISE_AL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    broker = f"{server.rsplit('/', 1)[0]}/{BROKER_DB}"
    redis.Redis.from_url(broker).flushdb()
    port = free_port()
    env = {
        **os.environ,
        "WISE_AL_HOME": str(demo_home),
        "WISE_AL_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "WISE_AL_DATABASE_URL": postgres.create(),
        "WISE_AL_BROKER_URL": broker,
        # short, so a killed worker's message comes back within the test; longer than any
        # unit of this small campaign, so nothing runs twice while alive
        "WISE_AL_VISIBILITY_TIMEOUT_S": "30",
        "WISE_AL_DEVICE": "cpu",
        "WISE_AL_API_URL": f"http://127.0.0.1:{port}",
        "OMP_NUM_THREADS": "1",
    }
    with deployment(env, tmp_path / "logs", port) as (svc, client):
        yield svc, client


def _check_consistent(url: str, campaign_id: int) -> dict[str, Any]:
    """Every selected frame has exactly one label; every member a model; every unit done."""
    report = consistency(url, campaign_id)
    assert report["lost"] == 0 and report["duplicated"] == 0, report
    assert report["labels"] == report["selected"] and not report["failed_runs"], report
    assert report["left_running"] == 0 and not report["bad_models"], report
    sessions = create_session_factory(create_db_engine(url))
    with transaction(sessions) as session:
        runs = session.scalars(select(TaskRun).where(TaskRun.campaign_id == campaign_id)).all()
        assert all(r.status == RunStatus.DONE for r in runs), [(r.unit_key, r.error) for r in runs]
        judged = session.scalar(
            select(func.count()).where(Frame.max_deviation_eV_per_A.is_not(None))
        )
    return {**report, "judged_frames": int(judged or 0)}


def test_a_campaign_submitted_over_rest_runs_until_its_own_rule(
    service: tuple[Service, WiseAlClient],
) -> None:
    svc, client = service
    campaign = client.create_campaign(small_campaign())
    assert client.control_campaign(campaign["id"], "start")["status"] == "running"
    done = wait_for("the campaign to finish", lambda: finished(client, campaign["id"]), svc)
    assert done["status"] == "completed", done["status_reason"]
    assert "max_iterations (2)" in done["status_reason"]
    iterations = client.iterations(campaign["id"])
    assert [(i["index"], i["phase"]) for i in iterations] == [(0, "done"), (1, "done")]
    assert all(i["metrics"]["evaluation"]["members"] == 2 for i in iterations)
    counts = _check_consistent(svc.env["WISE_AL_DATABASE_URL"], campaign["id"])
    assert counts["selected"] == 6 and counts["members"] == 4 and counts["judged_frames"] > 0
    assert counts["attempts"] == counts["runs"]  # nothing ran twice
    units = {Unit(r["unit"]) for r in client.task_runs(campaign["id"])["items"]}
    assert {ROUTES[unit][1] for unit in units} == {"gpu", "dft", "default"}
    # what the campaign produced, over REST
    assert client.frames(campaign["id"], status="selected")["total"] == 6
    assert client.dataset(campaign["id"]).count("REF_energy=") == 6
    models = client.models(campaign["id"])
    assert [(m["iteration_index"], m["member_index"]) for m in models] == [
        (0, 0), (0, 1), (1, 0), (1, 1)
    ]  # fmt: skip
    download = client.download_model(campaign["id"], models[-1]["id"])
    assert hashlib.sha256(download).hexdigest() == models[-1]["file_sha256"]


def test_a_worker_killed_while_labelling_loses_and_duplicates_nothing(
    service: tuple[Service, WiseAlClient],
) -> None:
    svc, client = service
    # another temperature than the module's other campaign: other frames, so every label
    # runs CP2K (the artifact store answers a label it holds already at once)
    other = {"stopping.max_iterations": 1, "system.walkers": [{"temperature_K": 350.0}]}
    campaign = client.create_campaign(small_campaign(**other))
    client.control_campaign(campaign["id"], "start")

    wait_for("a label to start", lambda: running_unit(client, campaign["id"], "label"), svc)
    svc.kill("worker-dft")
    svc.worker("dft", "worker-dft-2")
    done = wait_for("the campaign to finish", lambda: finished(client, campaign["id"]), svc)
    assert done["status"] == "completed", done["status_reason"]
    counts = _check_consistent(svc.env["WISE_AL_DATABASE_URL"], campaign["id"])
    assert counts["selected"] == 3
    assert counts["attempts"] == counts["runs"] + 1  # the killed label ran once more
