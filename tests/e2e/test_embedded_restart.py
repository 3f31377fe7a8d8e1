"""Embedded mode survives being killed: SIGKILL `wise-al up` (API, worker, broker clients)
in the middle of a campaign, start it again, and the campaign finishes from the database
with nothing lost and nothing done twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.cli import WISE_AL, Cli, free_port, wait_until_up
from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.loop_fixtures import small_campaign
from wise_al.client import WiseAlClient
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.models import Frame, FrameStatus, Label, ModelVersion, RunStatus, TaskRun

pytestmark = [needs_cp2k, pytest.mark.slow, pytest.mark.processes]


def _up(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [*WISE_AL, "up", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: one killpg takes everything
        )


def _alive_in_group(pgid: int) -> list[str]:
    """Command lines of live (not zombie) processes in process group ``pgid``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # gone while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(cmdline.strip())
    return alive


def _wait(what: str, check: Callable[[], bool], log: Path, timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-3000:]}")


def test_up_killed_mid_campaign_resumes_it_on_the_next_start(
    tmp_path: Path, demo_home: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(demo_home / "models", home / "models")
    env = {**os.environ, "WISE_AL_HOME": str(home), "NO_COLOR": "1", "WISE_AL_DEVICE": "cpu"}
    for key in ("WISE_AL_DATABASE_URL", "WISE_AL_BROKER_URL", "WISE_AL_ARTIFACT_DIR"):
        env.pop(key, None)
    port = free_port()
    env["WISE_AL_API_URL"] = f"http://127.0.0.1:{port}"
    log = tmp_path / "up.log"
    first = _up(env, port, log)
    try:
        wait_until_up(env["WISE_AL_API_URL"], first)
        token = str(Cli(env).json("token", "create", "--name", "restart")["token"])
        client = WiseAlClient(env["WISE_AL_API_URL"], token)
        campaign_id = int(client.create_campaign(small_campaign())["id"])
        client.control_campaign(campaign_id, "start")

        def training() -> bool:
            running = client.task_runs(campaign_id, status="running")["items"]
            return any("/train/" in r["unit_key"] for r in running)

        _wait("a member to start training", training, log)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    second = _up(env, port, log)
    try:
        wait_until_up(env["WISE_AL_API_URL"], second)

        def finished() -> bool:
            status = client.get_campaign(campaign_id)["status"]
            return status in ("completed", "failed", "cancelled")

        _wait("the campaign to finish after the restart", finished, log)
        campaign = client.get_campaign(campaign_id)
        assert campaign["status"] == "completed", campaign["status_reason"]
        assert "recovered 1 running campaigns" in log.read_text()
    finally:
        # stopped the way a service manager stops it: SIGTERM to `wise-al up` alone, which
        # must stop its API and worker itself
        second.terminate()
        second.wait(timeout=90)
        leftovers = _alive_in_group(second.pid)
        with suppress(ProcessLookupError):
            os.killpg(second.pid, signal.SIGKILL)  # never leak a process, even on failure
    assert leftovers == [], f"wise-al up left processes running after SIGTERM: {leftovers}"
    sessions = create_session_factory(create_db_engine(f"sqlite:///{home / 'wise_al.db'}"))
    with transaction(sessions) as session:
        selected = sorted(
            session.scalars(select(Frame.id).where(Frame.status == FrameStatus.SELECTED))
        )
        assert sorted(session.scalars(select(Label.frame_id))) == selected  # one label each
        versions = session.execute(
            select(ModelVersion.iteration_index, ModelVersion.member_index)
        ).all()
        assert sorted(versions) == [(0, 0), (0, 1), (1, 0), (1, 1)]
        runs = session.scalars(select(TaskRun)).all()
        assert all(r.status == RunStatus.DONE for r in runs)
        retried = [r.unit_key for r in runs if r.attempts > 1]
        assert retried and all("/train/" in key for key in retried)  # only the killed unit(s)
