"""The fault matrix: one real campaign per fault, and what each left in the database.

    .venv/bin/python benchmarks/faults.py [--home DIR] [--only ROW ...] [--out FILE]

``--home`` must hold ``models/demo-foundation.model`` (``wise-al models
build-demo-foundation``; built here with 6 frames and 2 epochs when missing). Every row runs
the loop-test campaign (tests/support/loop_fixtures.py: one walker, 3 xTB labels, two
members per iteration) on its own PostgreSQL database and Redis, with the real API and one
Celery worker per queue, and injects one fault:

- SIGKILL of the API, of the gpu worker mid-explore and mid-train, of the dft worker
  mid-label, of the default worker as a label ends (its advance queued or running); each
  process is started again;
- a Redis restart and a PostgreSQL restart mid-label (private servers on free ports, so the
  machine's own are never touched);
- a CP2K that hangs (a stand-in binary that answers ``--version`` and ``--xml`` as the real
  one and sleeps on an input), against a 20 s label time limit;
- a full artifact disk (a 2 MiB tmpfs: root only, skipped otherwise);
- a corrupted foundation model file.

After each, the campaign must be completed or failed with a stated reason, and the
consistency check (tests/support/service.py) must find nothing lost, duplicated, left
running, half-written or orphaned. The table is printed and written to ``--out``
(benchmarks/results/faults.json by default).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.cli import WISE_AL, free_port  # noqa: E402
from tests.support.loop_fixtures import small_campaign  # noqa: E402
from tests.support.service import (  # noqa: E402
    Service,
    consistency,
    deployment,
    finished,
    running_unit,
    wait_for,
)
from wise_al.client import WiseAlClient  # noqa: E402

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/bin"))


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port (as user postgres when run as root)."""

    def __init__(self, root: Path) -> None:
        self.data = root / "pgdata"
        self.port = free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
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


def _full_disk(work: Path, home: Path) -> dict[str, str]:
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
    Row("CP2K hangs", _nothing, "failed", "label", {"labelling.time_limit_s": 20},
        _hanging_cp2k),
    Row("artifact disk full (2 MiB tmpfs)", _nothing, "failed", "No space left", {},
        _full_disk),
    Row("corrupted foundation model", _nothing, "failed", "model", {}, _corrupt_model),
]  # fmt: skip


@contextlib.contextmanager
def row_deployment(row: Row, home: Path, work: Path) -> Iterator[Stack]:
    postgres = PrivatePostgres(work / "pg")
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
        if row.env is _full_disk:
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
        artifacts = Path(stack.svc.env["WISE_AL_ARTIFACT_DIR"])
        report = consistency(stack.svc.env["WISE_AL_DATABASE_URL"], stack.campaign_id, artifacts)
    reason = str(done["status_reason"] or "")
    outcome_ok = done["status"] == row.expect and (row.reason.lower() in reason.lower())
    clean = not (
        report["lost"] if done["status"] == "completed" else 0
    ) and not (report["duplicated"] or report["left_running"] or report["bad_models"]
               or report["orphans"])  # fmt: skip
    return {
        "fault": row.name,
        "status": done["status"],
        "reason": reason[:160],
        "expected": row.expect,
        "survived": outcome_ok and clean,
        "wall_s": round(time.monotonic() - started, 1),
        **{k: report[k] for k in ("selected", "labels", "lost", "duplicated", "left_running")},
        "extra_attempts": report["attempts"] - report["runs"],
        "bad_models": report["bad_models"],
        "orphans": report["orphans"],
    }


def _demo_home(home: Path) -> Path:
    if not (home / "models" / "demo-foundation.model").is_file():
        env = {**os.environ, "WISE_AL_HOME": str(home)}
        command = [*WISE_AL, "models", "build-demo-foundation", "--frames", "6", "--epochs", "2"]
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=1800)
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=REPO / ".wise-al" / "faults-home")
    parser.add_argument("--only", nargs="*", help="run the rows whose names contain these")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/faults.json")
    args = parser.parse_args()
    home = _demo_home(args.home)
    rows = [r for r in ROWS if not args.only or any(o.lower() in r.name.lower() for o in args.only)]
    if os.geteuid() != 0:
        rows = [r for r in rows if r.env is not _full_disk]
        print("not root: the full-disk row (a tmpfs mount) is skipped")
    results = []
    for row in rows:
        with tempfile.TemporaryDirectory(prefix="wise-al-fault-") as tmp:
            work = Path(tmp)
            if os.geteuid() == 0:
                shutil.chown(work, "postgres")
                work.chmod(0o777)
            try:
                result = run_row(row, home, work)
            except Exception as exc:  # a row that broke the harness is a row that failed
                result = {"fault": row.name, "survived": False, "error": str(exc)[-600:]}
        results.append(result)
        print(json.dumps(result), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print()
    print("| fault | outcome | survived | selected | labels | lost | duplicated | extra | s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        outcome = r.get("status", "harness error")
        if r.get("status") == "failed":
            outcome += f": {r['reason'][:60]}"
        print(
            f"| {r['fault']} | {outcome} | {'yes' if r['survived'] else 'NO'} | "
            f"{r.get('selected', '')} | {r.get('labels', '')} | {r.get('lost', '')} | "
            f"{r.get('duplicated', '')} | {r.get('extra_attempts', '')} | {r.get('wall_s', '')} |"
        )


if __name__ == "__main__":
    main()
