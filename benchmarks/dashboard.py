"""Dashboard and REST response times with 100 000 frames in PostgreSQL, in one run.

    .venv/bin/python benchmarks/dashboard.py [--frames 100000] [--repeat 15]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

A throw-away database gets one campaign of 10 iterations and ``--frames`` frames of the
47-atom demo cell (structure, per-atom deviations, committee energies), 10 % of them flagged,
2 % selected, with walkers, labels and task runs. The API runs as a real uvicorn process
and every page and endpoint is fetched ``--repeat`` times over HTTP (median and max).

Side by side, for the two pages that summarise many frames, the same numbers computed the
naive way (load every frame row through the ORM and count or sort in Python) against ours
(grouped and indexed queries in the repositories).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, select  # noqa: E402

from tests.support.cli import free_port  # noqa: E402
from tests.support.databases import PostgresDatabases  # noqa: E402
from tests.support.factories import example_spec  # noqa: E402
from wise_al.campaign_spec import parse_spec  # noqa: E402
from wise_al.db import migrate  # noqa: E402
from wise_al.db.engine import create_db_engine, create_session_factory, transaction  # noqa: E402
from wise_al.db.models import (  # noqa: E402
    Frame,
    FrameFlag,
    FrameStatus,
    Iteration,
    Phase,
    RunStatus,
    TaskRun,
    WalkerRun,
)
from wise_al.db.repositories import (  # noqa: E402
    CampaignRepository,
    FrameFilter,
    FrameRepository,
    OverviewRepository,
)
from wise_al.systems.cells import pack_cell  # noqa: E402
from wise_al.systems.structures import structure_to_dict  # noqa: E402
from wise_al.uncertainty import deviation_histogram  # noqa: E402

ITERATIONS = 10
CHUNK = 5000


def fill(url: str, n_frames: int) -> tuple[int, int]:
    """One campaign with ``n_frames`` frames; returns (campaign id, a flagged frame id)."""
    sessions = create_session_factory(create_db_engine(url))
    atoms = pack_cell({"LiTFSI": 2, "H2O": 5}, seed=0)
    structure = structure_to_dict(atoms)
    rng = np.random.default_rng(0)
    with transaction(sessions) as session:
        campaign_id = CampaignRepository(session).create(parse_spec(example_spec("demo"))).id
        iterations, walkers = [], []
        for n in range(ITERATIONS):
            iteration = Iteration(campaign_id=campaign_id, index=n, phase=Phase.DONE)
            session.add(iteration)
            session.flush()
            walker = WalkerRun(
                iteration_id=iteration.id,
                walker_index=0,
                conditions={"temperature_K": 298.15},
                seed=n,
                status=RunStatus.DONE,
                frame_counts={"accurate": 900, "candidate": 80, "failed": 20, "saved": 1000},
                deviation_histogram=deviation_histogram(rng.lognormal(-3, 1, 1000)),
            )
            session.add(walker)
            session.flush()
            iterations.append(iteration.id)
            walkers.append(walker.id)
            for unit in ("explore", "select", "label", "train", "evaluate"):
                session.add(
                    TaskRun(
                        campaign_id=campaign_id,
                        unit=unit,
                        unit_key=f"bench/{campaign_id}/{n}/{unit}",
                        iteration_index=n,
                        status=RunStatus.DONE,
                    )
                )
    engine = create_db_engine(url)
    statuses = [FrameStatus.CANDIDATE] * 88 + [FrameStatus.FAILED] * 10 + [FrameStatus.SELECTED] * 2
    flagged_id = 0
    with engine.begin() as conn:
        for start in range(0, n_frames, CHUNK):
            rows = []
            for k in range(start, min(n_frames, start + CHUNK)):
                deviations = rng.lognormal(-2.5, 0.5, len(atoms))
                rows.append(
                    {
                        "campaign_id": campaign_id,
                        "iteration_id": iterations[k % ITERATIONS],
                        "walker_run_id": walkers[k % ITERATIONS],
                        "md_step": k,
                        "status": statuses[k % 100],
                        "max_deviation_eV_per_A": float(deviations.max()),
                        "mean_deviation_eV_per_A": float(deviations.mean()),
                        "energy_std_eV_per_atom": 0.001,
                        "atom_deviations_eV_per_A": deviations.round(5).tolist(),
                        "member_energies_eV": [-4300.0, -4300.1],
                        "n_atoms": len(atoms),
                        "structure": structure,
                    }
                )
            ids = conn.execute(insert(Frame).returning(Frame.id), rows).scalars().all()
            flags = [
                {
                    "frame_id": frame_id,
                    "kind": "min_distance",
                    "atoms": [15, 16],
                    "value": 2.4,
                    "threshold": 2.6,
                    "message": "Li 15 and Li 16 are 2.40 Å apart",
                }
                for frame_id in ids
                if rng.random() < 0.1
            ]
            conn.execute(insert(FrameFlag), flags)
            flagged_id = flagged_id or flags[0]["frame_id"]
            print(f"  {start + len(rows):>7} frames stored", end="\r", flush=True)
    print()
    # what autovacuum does to a table after a bulk load: visibility map and planner statistics
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return campaign_id, flagged_id


def time_get(client: httpx.Client, path: str, repeat: int) -> tuple[float, float]:
    """Median and max milliseconds of ``repeat`` GETs (after one warm-up)."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        times.append(1000 * (time.perf_counter() - start))
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times), max(times)


def naive_vs_ours(url: str, campaign_id: int, repeat: int) -> list[tuple[str, float, float]]:
    """Milliseconds of the naive and of our way to compute two pages' numbers."""
    sessions = create_session_factory(create_db_engine(url))

    def naive_counts() -> Any:
        with sessions() as session:
            frames = session.scalars(select(Frame).where(Frame.campaign_id == campaign_id)).all()
            return Counter((f.iteration_id, str(f.status)) for f in frames)

    def our_counts() -> Any:
        with sessions() as session:
            return OverviewRepository(session).iterations(campaign_id)

    def naive_queue() -> Any:
        with sessions() as session:
            frames = session.scalars(select(Frame).where(Frame.campaign_id == campaign_id)).all()
            kept = [f for f in frames if f.status == FrameStatus.SELECTED]
            return sorted(kept, key=lambda f: -(f.max_deviation_eV_per_A or 0))[:50]

    def our_queue() -> Any:
        with sessions() as session:
            where = FrameFilter(status=FrameStatus.SELECTED)
            return FrameRepository(session).page(campaign_id, where, "-deviation", 50, 0).items

    def median_ms(work: Any, times: int) -> float:
        samples = []
        for _ in range(times):
            start = time.perf_counter()
            work()
            samples.append(1000 * (time.perf_counter() - start))
        return statistics.median(samples)

    naive_repeat = max(3, repeat // 5)  # the naive way takes seconds per call
    return [
        ("campaign page: frames per iteration and status", median_ms(naive_counts, naive_repeat),
         median_ms(our_counts, repeat)),
        ("review queue: top 50 selected by deviation", median_ms(naive_queue, naive_repeat),
         median_ms(our_queue, repeat)),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "WISE_AL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    databases = PostgresDatabases(args.admin_url)
    url = databases.create()
    server = None
    try:
        migrate.upgrade(url)
        start = time.perf_counter()
        campaign_id, frame_id = fill(url, args.frames)
        print(f"filled {args.frames} frames in {time.perf_counter() - start:.0f} s")
        port, home = free_port(), Path(tempfile.mkdtemp(prefix="wise-al-bench-"))
        env = {**os.environ, "WISE_AL_HOME": str(home), "WISE_AL_DATABASE_URL": url}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "services.api.app:create_app",
             "--port", str(port), "--log-level", "warning"],
            env=env, cwd=REPO,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60, headers={"Accept": "text/html"}) as client:
            for _ in range(100):
                try:
                    client.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            c = f"/campaigns/{campaign_id}"
            api = f"/api/v1{c}"
            paths = {
                "page: campaigns": "/",
                "page: campaign": c,
                "fragment: live status": f"{c}/live",
                "page: review queue": f"{c}/review",
                "page: review queue, flag + iteration":
                    f"{c}/review?status=any&flag=min_distance&iteration=3",
                "page: review queue, page 1000": f"{c}/review?status=any&offset=50000",
                "page: frame": f"{c}/frames/{frame_id}",
                "page: models": f"{c}/models",
                "api: campaign": api,
                "api: frames": f"{api}/frames",
                "api: frames by flag, -deviation":
                    f"{api}/frames?flag=min_distance&sort=-deviation",
                "api: frame": f"{api}/frames/{frame_id}",
            }  # fmt: skip
            print(f"\n{args.frames} frames, median (max) of {args.repeat} requests:\n")
            print("| request | median ms | max ms |\n|---|---:|---:|")
            for name, path in paths.items():
                median, worst = time_get(client, path, args.repeat)
                print(f"| {name} | {median:.1f} | {worst:.1f} |")
        print("\n| computation | naive ms | ours ms | ratio |\n|---|---:|---:|---:|")
        for name, naive, ours in naive_vs_ours(url, campaign_id, args.repeat):
            print(f"| {name} | {naive:.0f} | {ours:.1f} | {naive / ours:.0f}× |")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        databases.drop_all()


if __name__ == "__main__":
    main()
