"""A deployment of real processes (API, one Celery worker per queue) and what it must leave.

Shared by the service tests (tests/e2e/test_campaign_service.py) and the fault matrix
(benchmarks/faults.py): start and kill processes, wait for a campaign, and check the
database for what no fault may leave behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.support.cli import WISE_AL, Cli, wait_until_up
from wise_al.client import WiseAlClient
from wise_al.db.engine import create_db_engine, create_session_factory, transaction
from wise_al.db.models import (
    Frame,
    Iteration,
    Label,
    ModelVersion,
    RunStatus,
    TaskRun,
    WalkerRun,
)

ENDED = ("completed", "failed", "cancelled")


@dataclass
class Service:
    """The processes of one deployment, with their logs; everything is killed at the end."""

    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as sink:
            process = subprocess.Popen(
                argv, env=self.env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        return process

    def api(self, port: int) -> None:
        """Start ``wise-al serve`` on ``port`` and wait until it answers."""
        process = self.start("api", [*WISE_AL, "serve", "--port", str(port)])
        wait_until_up(f"http://127.0.0.1:{port}", process)

    def worker(self, queue: str, name: str | None = None) -> subprocess.Popen[bytes]:
        name = name or f"worker-{queue}"
        return self.start(
            name,
            [
                sys.executable, "-m", "celery", "-A", "services.worker.tasks", "worker",
                "-Q", queue, "-c", "1", "-n", f"{name}@%h", "--loglevel", "INFO",
            ],
        )  # fmt: skip

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything it started (pool children, CP2K)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def all_logs(self) -> str:
        return "\n".join(f"--- {p.stem}\n{self.log(p.stem)}" for p in sorted(self.logs.iterdir()))


@contextmanager
def deployment(
    env: dict[str, str], logs: Path, port: int
) -> Iterator[tuple[Service, WiseAlClient]]:
    """Migrate, mint a token, start the API on ``port`` and one worker per queue; stop all."""
    cli = Cli(env)
    cli.run("db", "upgrade")
    token = str(cli.json("token", "create", "--name", "service")["token"])
    logs.mkdir(parents=True, exist_ok=True)
    svc = Service(env, logs)
    try:
        svc.api(port)
        for queue in ("gpu", "dft", "default"):
            svc.worker(queue)
        with WiseAlClient(f"http://127.0.0.1:{port}", token) as client:
            yield svc, client
    finally:
        svc.stop_all()


def wait_for(what: str, check: Callable[[], Any], svc: Service, timeout_s: float = 900) -> Any:
    """``check()``'s first truthy answer, polled every 0.5 s; the logs when it never comes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{svc.all_logs()}")


def finished(client: WiseAlClient, campaign_id: int) -> dict[str, Any] | None:
    """The campaign once it has ended, else None."""
    campaign = client.get_campaign(campaign_id)
    return campaign if campaign["status"] in ENDED else None


def running_unit(client: WiseAlClient, campaign_id: int, unit: str) -> bool:
    """Whether a unit of kind ``unit`` (``label``, ``train`` ...) is running now."""
    running = client.task_runs(campaign_id, status="running")["items"]
    return any(f"/{unit}/" in r["unit_key"] for r in running)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def consistency(url: str, campaign_id: int, artifacts: Path | None = None) -> dict[str, Any]:
    """What a campaign left in the database (and on disk), and every way it is inconsistent.

    ``lost``: selected frames of a completed campaign without a finished label;
    ``duplicated``: labels beyond one per frame and level; ``left_running``: task runs,
    walkers or model versions still queued or running after the campaign ended;
    ``bad_models``: finished model versions without a training set, a file, or with a file
    whose hash differs; ``orphans``: member training directories under the campaign's
    artifacts without a finished model version.
    """
    sessions = create_session_factory(create_db_engine(url))
    with transaction(sessions) as session:
        status = session.execute(
            select(Frame.id, Frame.status).where(Frame.campaign_id == campaign_id)
        ).all()
        selected = {f for f, s in status if s == "selected"}
        labels = session.execute(
            select(Label.frame_id, Label.level_sha256, Label.status)
            .join(Frame, Frame.id == Label.frame_id)
            .where(Frame.campaign_id == campaign_id)
        ).all()
        per_level = Counter((f, level) for f, level, _ in labels)
        labelled = {f for f, _, s in labels if s == RunStatus.DONE}
        runs = session.scalars(select(TaskRun).where(TaskRun.campaign_id == campaign_id)).all()
        walkers = session.scalars(
            select(WalkerRun.status)
            .join(Iteration, Iteration.id == WalkerRun.iteration_id)
            .where(Iteration.campaign_id == campaign_id)
        ).all()
        models = session.scalars(
            select(ModelVersion).where(ModelVersion.campaign_id == campaign_id)
        ).all()
        unfinished = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PENDING)
        bad_models = [
            m.id
            for m in models
            if m.status == RunStatus.DONE
            and not (
                m.training_set_sha256
                and m.file_path
                and Path(m.file_path).is_file()
                and _sha256(Path(m.file_path)) == m.file_sha256
            )
        ]
        trained = {
            (m.iteration_index, m.member_index) for m in models if m.status == RunStatus.DONE
        }
    orphans: list[str] = []
    if artifacts is not None:
        campaign_dir = artifacts / "campaigns" / str(campaign_id)
        # a member's training directory (checkpoints, models) belongs to a finished model
        # version; a killed or stopped training must not leave one behind
        for member_dir in sorted(campaign_dir.glob("iteration-*/train/member*")):
            iteration = int(member_dir.parts[-3].removeprefix("iteration-"))
            member = int(member_dir.name.removeprefix("member"))
            if member_dir.is_dir() and (iteration, member) not in trained:
                orphans.append(str(member_dir.relative_to(campaign_dir)))
    return {
        "selected": len(selected),
        "labels": len(labels),
        "lost": len(selected - labelled),
        "duplicated": sum(n - 1 for n in per_level.values() if n > 1),
        "left_running": sum(r.status in unfinished for r in runs)
        + sum(s in unfinished for s in walkers)
        + sum(m.status in unfinished for m in models),
        "bad_models": bad_models,
        "orphans": orphans,
        "attempts": sum(r.attempts for r in runs),
        "reruns": sum(max(0, r.attempts - 1) for r in runs),
        "never_run": sum(r.attempts == 0 for r in runs),
        "runs": len(runs),
        "failed_runs": [(r.unit_key, (r.error or "")[:200]) for r in runs if r.status == "failed"],
        "members": sum(m.status == RunStatus.DONE for m in models),
    }
