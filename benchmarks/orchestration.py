"""Orchestration overhead of the loop, in one run: the same campaign run inline and by workers.

    .venv/bin/python benchmarks/orchestration.py [--home DIR] [--broker redis://127.0.0.1:6379/8]

``--home`` must hold ``models/demo-foundation.model`` (``wise-al models build-demo-foundation``).
Both runs use a fresh SQLite database and artifact store and the test campaign of
tests/loop_fixtures.py (2 iterations: 1 walker, 3 xTB labels, 2 members each).

- inline: every unit run one after another in this process (no broker, no task overhead);
- workers: one Celery worker process per queue (gpu, dft, default) on the broker.

Reported: wall time of each; for the worker run, the time not covered by any job (the
union of the task runs' intervals), and the dispatch wait of each unit (from the moment
it was queued, or its queue's previous unit ended, to its start).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from services.worker.routes import ROUTES  # noqa: E402
from tests.support.loop_fixtures import small_campaign  # noqa: E402
from wise_al.campaign_spec import parse_spec  # noqa: E402
from wise_al.db import migrate  # noqa: E402
from wise_al.db.engine import create_db_engine, create_session_factory, transaction  # noqa: E402
from wise_al.db.models import Campaign, TaskRun  # noqa: E402
from wise_al.db.repositories import CampaignRepository  # noqa: E402
from wise_al.jobs.run import advance_and_plan, run_unit  # noqa: E402
from wise_al.loop import Unit  # noqa: E402
from wise_al.settings import WorkerSettings  # noqa: E402


def fresh(root: Path, name: str) -> tuple[str, Path]:
    directory = root / name
    directory.mkdir()
    url = f"sqlite:///{directory / 'wise_al.db'}"
    migrate.upgrade(url)
    return url, directory / "artifacts"


def start_campaign(url: str) -> int:
    sessions = create_session_factory(create_db_engine(url))
    with transaction(sessions) as session:
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(small_campaign())).id
        repo.control(campaign_id, "start")
    return campaign_id


def inline(home: Path, root: Path) -> float:
    url, artifacts = fresh(root, "inline")
    sessions = create_session_factory(create_db_engine(url))
    settings = WorkerSettings(home=home, artifact_dir=artifacts, device="cpu", database_url=url)
    campaign_id = start_campaign(url)
    began = time.perf_counter()
    queue = advance_and_plan(sessions, campaign_id)
    while queue:
        queue += run_unit(sessions, settings, queue.pop(0).id, "inline")
    return time.perf_counter() - began


def with_workers(home: Path, root: Path, broker: str) -> tuple[float, list[TaskRun]]:
    url, artifacts = fresh(root, "workers")
    redis.Redis.from_url(broker).flushdb()
    env = {
        **os.environ,
        "WISE_AL_HOME": str(home),
        "WISE_AL_DATABASE_URL": url,
        "WISE_AL_ARTIFACT_DIR": str(artifacts),
        "WISE_AL_BROKER_URL": broker,
        "WISE_AL_DEVICE": "cpu",
    }
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "services.worker.tasks",
                "worker",
                "-Q",
                queue,
                "-c",
                "1",
                "-n",
                f"{queue}@%h",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for queue in ("gpu", "dft", "default")
    ]
    try:
        time.sleep(8)  # workers connected and idle before the clock starts
        from services.worker.dispatch import create_celery, send_advance

        campaign_id = start_campaign(url)
        sessions = create_session_factory(create_db_engine(url))
        began = time.perf_counter()
        send_advance(create_celery(WorkerSettings(broker_url=broker)), campaign_id)
        while True:
            with transaction(sessions) as session:
                status = session.get_one(Campaign, campaign_id).status
            if status.finished:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - began
        with transaction(sessions) as session:
            runs = list(session.scalars(select(TaskRun).order_by(TaskRun.id)))
        return wall, runs
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)


def covered_s(runs: list[TaskRun]) -> float:
    """Length of the union of the runs' [started, finished] intervals."""
    spans = sorted((r.started_at, r.finished_at) for r in runs if r.started_at and r.finished_at)
    total, end = 0.0, None
    for start, stop in spans:
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return total


def dispatch_waits_s(runs: list[TaskRun]) -> list[float]:
    """Per unit: start minus (queued, or the previous unit of its queue ending if later)."""
    waits = []
    queue_of = {r.id: ROUTES[Unit(r.unit)][1] for r in runs}
    for queue in set(queue_of.values()):
        ordered = sorted((r for r in runs if queue_of[r.id] == queue), key=lambda r: r.started_at)
        previous_end = None
        for run in ordered:
            ready = run.queued_at if previous_end is None else max(run.queued_at, previous_end)
            waits.append((run.started_at - ready).total_seconds())
            previous_end = run.finished_at
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", type=Path, default=Path(os.environ.get("WISE_AL_HOME", ".wise-al"))
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/8")
    args = parser.parse_args()
    if not (args.home / "models" / "demo-foundation.model").is_file():
        sys.exit(f"{args.home}/models/demo-foundation.model missing: run build-demo-foundation")
    root = Path(tempfile.mkdtemp(prefix="wise-al-bench-"))
    try:
        wall_inline = inline(args.home, root)
        wall_workers, runs = with_workers(args.home, root, args.broker)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    busy = covered_s(runs)
    waits = dispatch_waits_s(runs)
    print(f"units: {len(runs)}")
    print(f"inline  wall {wall_inline:7.1f} s")
    print(f"workers wall {wall_workers:7.1f} s  ({wall_workers / wall_inline:.2f}x inline)")
    print(
        f"workers: time outside every job {wall_workers - busy:.1f} s "
        f"= {(wall_workers - busy) / wall_workers:.1%} of the campaign"
    )
    print(
        f"dispatch wait per unit: median {statistics.median(waits) * 1000:.0f} ms, "
        f"max {max(waits) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
