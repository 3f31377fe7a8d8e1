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
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.cli import WISE_AL  # noqa: E402
from tests.support.faults import ROWS, full_disk, run_row  # noqa: E402


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
        rows = [r for r in rows if r.env is not full_disk]
        print("not root: the full-disk row (a tmpfs mount) is skipped")
    results = []
    for row in rows:
        with tempfile.TemporaryDirectory(prefix="wise-al-fault-") as tmp:
            try:
                result = run_row(row, home, Path(tmp))
            except Exception as exc:  # a row that broke the harness is a row that failed
                result = {"fault": row.name, "survived": False, "error": str(exc)[-600:]}
        results.append(result)
        print(json.dumps(result), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print()
    print("| fault | outcome | survived | labels / selected | lost | duplicated | reruns | s |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        outcome = r.get("status", "harness error")
        completed = outcome == "completed"
        if outcome == "failed":
            outcome += f": {r['reason'][:70]}"
        print(
            f"| {r['fault']} | {outcome} | {'yes' if r['survived'] else 'NO'} | "
            f"{r.get('labels', '')} / {r.get('selected', '')} | "
            f"{r.get('lost', '') if completed else '–'} | {r.get('duplicated', '')} | "
            f"{r.get('reruns', '')} | {r.get('wall_s', '')} |"
        )


if __name__ == "__main__":
    main()
