"""The fault matrix's rows: private PostgreSQL and Redis servers, faults, and one row's run.

Run whole by ``benchmarks/faults.py`` (the table in the README); its cheap rows run in the
suite (tests/e2e/test_fault_matrix.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.cli import free_port
from tests.support.loop_fixtures import drain, small_campaign
from tests.support.service import (
    Service,
    consistency,
    deployment,
    finished,
    running_unit,
    wait_for,
)
from wise_al.campaign_spec import parse_spec
from wise_al.client import WiseAlClient
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.repositories import CampaignRepository
from wise_al.settings import WorkerSettings

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/bin"))


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port (as user postgres when run as root).

    Its directory is a fresh one under the system's temporary directory: initdb refuses
    root, and user postgres may not enter root's private test directories.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wise-al-pg-"))
        self.data = self.root / "pgdata"
        self.port = free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self.start()

    def _run(self, *argv: str) -> None:
        subprocess.run([*self.prefix, *argv], check=True, capture_output=True, timeout=120)

    def _ctl(self, action: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-m", "fast",
            "-l", str(self.data / "server.log"), action,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        subprocess.run(
            [*self.prefix, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", database],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class PrivateRedis:
    """A Redis server of our own with an append-only file, restartable."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--appendonly", "yes", "--dir", str(self.dir), "--save", ""]  # fmt: skip
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ping = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file first
            self.process.wait(timeout=30)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


@dataclass
class Stack:
    """One row's deployment: the service, its client, and the servers under it."""

    svc: Service
    client: WiseAlClient
    postgres: PrivatePostgres
    redis: PrivateRedis
    port: int
    campaign_id: int = 0
    notes: list[str] = field(default_factory=list)


Fault = Callable[[Stack], None]


def _kill_and_restart(name: str, queue: str | None, unit: str | None) -> Fault:
    def inject(stack: Stack) -> None:
        if unit is not None:
            wait_for(
                f"a {unit} to run",
                lambda: running_unit(stack.client, stack.campaign_id, unit),
                stack.svc,
            )
        else:
            wait_for(
                "the first label to end",
                lambda: (
                    stack.client.frames(stack.campaign_id, status="selected")["total"] > 0
                    and _labels_done(stack) > 0
                ),
                stack.svc,
            )
        stack.svc.kill(name)
        time.sleep(2)
        if queue is None:
            stack.svc.api(stack.port)
        else:
            stack.svc.worker(queue, f"{name}-2")

    return inject


def _labels_done(stack: Stack) -> int:
    runs = stack.client.task_runs(stack.campaign_id, status="done")["items"]
    return sum("/label/" in r["unit_key"] for r in runs)


def _restart(server: str) -> Fault:
    def inject(stack: Stack) -> None:
        wait_for(
            "a label to run",
            lambda: running_unit(stack.client, stack.campaign_id, "label"),
            stack.svc,
        )
        getattr(stack, server).restart()

    return inject


def _nothing(stack: Stack) -> None:
    del stack


@dataclass(frozen=True)
class Row:
    name: str
    inject: Fault
    expect: str  # "completed", or "failed" with a reason that names the fault
    reason: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    env: Callable[[Path, Path], dict[str, str]] | None = None  # (work, home) -> extra env


def _hanging_cp2k(work: Path, home: Path) -> dict[str, str]:
    real = shutil.which("cp2k") or "cp2k"
    script = work / "hanging-cp2k"
    script.write_text(
        "#!/bin/sh\n"
        'case "$*" in *--version*|*--xml*|*-v*) exec ' + real + ' "$@";; esac\n'
        "exec sleep 100000\n"
    )
    script.chmod(0o755)
    return {"WISE_AL_CP2K_BINARY": str(script)}


def full_disk(work: Path, home: Path) -> dict[str, str]:
    mount = work / "tiny-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    return {"WISE_AL_ARTIFACT_DIR": str(mount)}


def _corrupt_model(work: Path, home: Path) -> dict[str, str]:
    copy = work / "home"
    shutil.copytree(home, copy)
    model = copy / "models" / "demo-foundation.model"
    model.write_bytes(b"PK\x03\x04 not a torch archive" + os.urandom(4096))
    return {"WISE_AL_HOME": str(copy)}


ROWS = [
    Row("none (baseline)", _nothing, "completed"),
    Row("SIGKILL api", _kill_and_restart("api", None, "label"), "completed"),
    Row("SIGKILL gpu worker mid-explore", _kill_and_restart("worker-gpu", "gpu", "explore"),
        "completed"),
    Row("SIGKILL gpu worker mid-train", _kill_and_restart("worker-gpu", "gpu", "train"),
        "completed"),
    Row("SIGKILL dft worker mid-label", _kill_and_restart("worker-dft", "dft", "label"),
        "completed"),
    Row("SIGKILL default worker as a label ends",
        _kill_and_restart("worker-default", "default", None), "completed"),
    Row("Redis restart mid-label", _restart("redis"), "completed"),
    Row("PostgreSQL restart mid-label", _restart("postgres"), "completed"),
    Row("CP2K hangs", _nothing, "failed", "time_limit", {"labelling.time_limit_s": 20},
        _hanging_cp2k),
    Row("artifact disk full (2 MiB tmpfs)", _nothing, "failed", "disk full", {},
        full_disk),
    Row("corrupted foundation model", _nothing, "failed", "every walker", {}, _corrupt_model),
]  # fmt: skip


@contextlib.contextmanager
def row_deployment(row: Row, home: Path, work: Path) -> Iterator[Stack]:
    postgres = PrivatePostgres()
    redis = PrivateRedis(work)
    port = free_port()
    env = {
        **os.environ,
        "WISE_AL_HOME": str(home),
        "WISE_AL_ARTIFACT_DIR": str(work / "artifacts"),
        "WISE_AL_DATABASE_URL": postgres.url("wise"),
        "WISE_AL_BROKER_URL": redis.url(0),
        "WISE_AL_VISIBILITY_TIMEOUT_S": "30",  # a killed worker's message comes back soon
        "WISE_AL_DEVICE": "cpu",
        "WISE_AL_API_URL": f"http://127.0.0.1:{port}",
        "OMP_NUM_THREADS": "1",
    }
    if row.env is not None:
        env |= row.env(work, home)
    try:
        with deployment(env, work / "logs", port) as (svc, client):
            yield Stack(svc, client, postgres, redis, port)
    finally:
        redis.stop()
        postgres.stop()
        if row.env is full_disk:
            subprocess.run(["umount", env["WISE_AL_ARTIFACT_DIR"]], check=False)


def run_row(row: Row, home: Path, work: Path) -> dict[str, Any]:
    started = time.monotonic()
    with row_deployment(row, home, work) as stack:
        spec = small_campaign(**{"stopping.max_iterations": 1, **row.spec})
        stack.campaign_id = stack.client.create_campaign(spec)["id"]
        stack.client.control_campaign(stack.campaign_id, "start")
        row.inject(stack)
        done = wait_for(
            "the campaign to end", lambda: finished(stack.client, stack.campaign_id), stack.svc
        )
        # a unit still running when its campaign failed stops itself (it asks every 2 s)
        wait_for(
            "its running units to stop",
            lambda: not stack.client.task_runs(stack.campaign_id, status="running")["items"],
            stack.svc,
            timeout_s=120,
        )
        artifacts = Path(stack.svc.env["WISE_AL_ARTIFACT_DIR"])
        report = consistency(stack.svc.env["WISE_AL_DATABASE_URL"], stack.campaign_id, artifacts)
    return _result(row, done["status"], str(done["status_reason"] or ""), report, started)


def drain_row(row: Row, home: Path, work: Path, url: str) -> dict[str, Any]:
    """A row whose fault is a unit's own failure, run inline on the database at ``url``.

    No processes: the units run in this process in order (``drain``), with the row's
    environment as the worker's settings. What the consistency check sees is the same.
    """
    started = time.monotonic()
    env = row.env(work, home) if row.env is not None else {}
    options: dict[str, Any] = {"home": home, "artifact_dir": work / "artifacts", "device": "cpu"}
    options |= {key.removeprefix("WISE_AL_").lower(): value for key, value in env.items()}
    settings = WorkerSettings(**options)
    sessions = create_session_factory(create_db_engine(url))
    spec = small_campaign(**{"stopping.max_iterations": 1, **row.spec})
    with transaction(sessions) as session:
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(spec)).id
        repo.control(campaign_id, "start")
    drain(sessions, settings, campaign_id)
    with transaction(sessions) as session:
        campaign = CampaignRepository(session).get(campaign_id)
        status, reason = str(campaign.status), str(campaign.status_reason or "")
    report = consistency(url, campaign_id, settings.resolved_artifact_dir())
    return _result(row, status, reason, report, started)


def _result(
    row: Row, status: str, reason: str, report: dict[str, Any], started: float
) -> dict[str, Any]:
    outcome_ok = status == row.expect and (row.reason.lower() in reason.lower())
    clean = not (
        report["lost"] if status == "completed" else 0
    ) and not (report["duplicated"] or report["left_running"] or report["bad_models"]
               or report["orphans"])  # fmt: skip
    return {
        "fault": row.name,
        "status": status,
        "reason": reason[:160],
        "expected": row.expect,
        "survived": outcome_ok and clean,
        "wall_s": round(time.monotonic() - started, 1),
        **{k: report[k] for k in ("selected", "labels", "lost", "duplicated", "left_running")},
        "reruns": report["reruns"],
        "never_run": report["never_run"],
        "bad_models": report["bad_models"],
        "orphans": report["orphans"],
    }
