"""Hostile dataset uploads against a running API: each answer's status, size and time, and
the latency of ``/health`` polled while the upload is refused.

Every case once froze the API, ran a reader forever, answered 500, echoed megabytes or
left a file behind. ``python -m tests.support.hostile_uploads`` runs them all against a
fresh API on SQLite and prints one JSON line per case (the numbers of the closing note).
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

DATASETS = "/api/v1/datasets"
LABELLED = "Properties=species:S:1:pos:R:3:REF_forces:R:3 REF_energy=-1"
H = "H 0 0 0 .1 .1 .1"
LEVEL = {"code": "CP2K", "method": "GFN1-xTB"}


def _frame(comment: str, *atoms: str) -> str:
    return f"{len(atoms)}\n{comment}\n" + "".join(f"{a}\n" for a in atoms)


def _cell(*vectors: float) -> str:
    return 'Lattice="' + " ".join(f"{v:g}" for v in vectors) + '" pbc="T T T"'


def metadata(name: str = "hostile", **fields: Any) -> dict[str, Any]:
    """A labelled upload's metadata at a minimal declared level."""
    return {"name": name, "level_of_theory": LEVEL} | fields


GOOD = _frame(LABELLED, H, "H 1 0 0 .1 .1 .1")


@dataclass(frozen=True)
class Case:
    """One hostile request: the file, the metadata (JSON text) and the status expected."""

    file: Callable[[], bytes]
    metadata: Callable[[], str]
    status: int


def _text(text: str) -> Callable[[], bytes]:
    return lambda: text.encode()


def _meta(**fields: Any) -> Callable[[], str]:
    return lambda: json.dumps(metadata(**fields))


CASES: dict[str, Case] = {
    # 1. cells thinner than an atom: once a neighbour list over billions of images
    "thin-cell": Case(_text(_frame(f"{_cell(10, 0, 0, 0, 10, 0, 0, 0, 1e-9)} {LABELLED}", H)),
                      _meta(), 422),
    "tiny-cell": Case(_text(_frame(f"{_cell(1e-9, 0, 0, 0, 1e-9, 0, 0, 0, 1e-9)} {LABELLED}", H)),
                      _meta(), 422),
    "skewed-cell": Case(_text(_frame(f"{_cell(10, 0, 0, 10, 1e-9, 0, 0, 0, 10)} {LABELLED}", H)),
                        _meta(), 422),
    # 2. headers that made the reader run forever or allocate gigabytes
    "1e12-atoms": Case(_text(f"1000000000000\n{LABELLED}\n{H}\n"), _meta(), 422),
    "3M-frames": Case(lambda: b"1\n\nH 0 0 0\n" * 3_000_000, _meta(kind="structures",
                      level_of_theory=None), 422),
    "1e8-columns": Case(_text(_frame("Properties=species:S:1:pos:R:3:x:R:100000000", H)),
                        _meta(), 422),
    # 3. malformed values that ended in a 500
    "string-forces": Case(_text(_frame(LABELLED.replace("REF_forces:R", "REF_forces:S"),
                                       "H 0 0 0 a b c")), _meta(), 422),
    "stress-word": Case(_text(_frame(f"{_cell(5, 0, 0, 0, 5, 0, 0, 0, 5)} {LABELLED} "
                                     "REF_stress=abc", H)), _meta(), 422),
    "24-digit-int": Case(_text(_frame(LABELLED.replace(" REF", ":tag:I:1 REF"),
                                      f"{H} 123456789012345678901234")), _meta(), 422),
    "z-5000": Case(_text(_frame(LABELLED.replace("species:S", "Z:I"), "5000 0 0 0 .1 .1 .1")),
                   _meta(), 422),
    # 4. input echoed back uncapped
    "2MB-symbol": Case(_text(_frame(LABELLED, "Q" * 2_000_000 + " 0 0 0 .1 .1 .1")), _meta(),
                       422),
    "50k-symbol": Case(_text(_frame(LABELLED, "Q" * 50_000 + " 0 0 0 .1 .1 .1")), _meta(), 422),
    "200kB-key": Case(_text(GOOD), _meta(**{"k" * 200_000: 1}), 422),
    # 5. metadata that was stored as NaN or ended in a 500
    "confirmation-nan": Case(_text(GOOD), lambda: json.dumps(metadata(confirmation={
        "frames": [0], "energy_diff_meV_per_atom": [float("nan")],
        "force_max_diff_eV_per_A": [0.0], "energy_tolerance_meV_per_atom": 1.0,
        "force_tolerance_eV_per_A": 0.05})), 422),
    "confirmation-1e400": Case(_text(GOOD), lambda: json.dumps(metadata(confirmation={}))
                               .replace("{}", '{"x": 1e400}'), 422),
    "900-levels": Case(_text(GOOD), lambda: json.dumps(metadata(confirmation={}))
                       .replace("{}", "[" * 900 + "]" * 900), 422),
    "lone-surrogate": Case(_text(GOOD), lambda: json.dumps(metadata(description="\ud800")), 422),
    "300kB-metadata": Case(_text(GOOD), _meta(description="x" * 300_000), 400),
}  # fmt: skip


@dataclass
class Answer:
    """What the API answered to one case, and how /health fared meanwhile."""

    case: str
    status: int
    body_bytes: int
    seconds: float
    health_polls: int
    health_median_ms: float
    health_max_ms: float
    message: str


def upload(client: httpx.Client, token: str, data: bytes, meta: str) -> httpx.Response:
    """One multipart upload, as ``wise-al dataset upload`` sends it."""
    return client.post(
        DATASETS,
        data={"metadata": meta},
        files={"file": ("x.extxyz", data, "chemical/x-extxyz")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=600,
    )


def send(base: str, token: str, name: str) -> Answer:
    """Send case ``name`` while a second connection polls /health every 10 ms."""
    case = CASES[name]
    data, meta = case.file(), case.metadata()
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=30) as health:
            while not done.is_set():
                started = time.perf_counter()
                health.get("/api/v1/health").raise_for_status()
                latencies.append(1000 * (time.perf_counter() - started))
                time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    with httpx.Client(base_url=base) as client:
        started = time.perf_counter()
        response = upload(client, token, data, meta)
        seconds = time.perf_counter() - started
    done.set()
    poller.join(timeout=60)
    return Answer(
        case=name,
        status=response.status_code,
        body_bytes=len(response.content),
        seconds=round(seconds, 3),
        health_polls=len(latencies),
        health_median_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        health_max_ms=round(max(latencies), 1) if latencies else 0.0,
        message=response.json().get("message", "")[:160],
    )


def main() -> None:  # pragma: no cover - prints the closing note's numbers
    """Every case against a fresh API on each database URL given (``sqlite`` by default)."""
    import tempfile
    from pathlib import Path

    from tests.support.api_fixtures import table_digest
    from tests.support.cli import api_process
    from wise_al.db.engine import create_db_engine, create_session_factory, transaction
    from wise_al.db.migrate import upgrade
    from wise_al.db.repositories import TokenRepository

    for which in sys.argv[1:] or ["sqlite"]:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            url = f"sqlite:///{work / 'wise_al.db'}" if which == "sqlite" else which
            backend = url.split(":")[0]
            upgrade(url)
            engine = create_db_engine(url)
            sessions = create_session_factory(engine)
            with transaction(sessions) as session:
                _, token = TokenRepository(session).create("hostile")
            before = table_digest(sessions)
            with api_process(url, work) as base:
                for name in CASES:
                    print(json.dumps({"backend": backend, **asdict(send(base, token, name))}))
            files = [
                str(p.relative_to(work)) for p in (work / "artifacts").rglob("*") if p.is_file()
            ]
            same = table_digest(sessions) == before
            print(json.dumps({"backend": backend, "files_left": files, "digest_unchanged": same}))
            engine.dispose()


if __name__ == "__main__":
    main()
