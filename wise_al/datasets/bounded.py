"""Check an upload in a child process, with a deadline and a memory limit.

The check parses untrusted input, partly in C code that holds the interpreter lock: in the
API's own process one pathological file would stall every other request, or grow until the
machine swaps. In a child process it is killed at its deadline and refused memory beyond
its limit, while the API only waits on a pipe. ``python -m wise_al.datasets.bounded PATH
KIND LEVEL MEMORY_BYTES`` is the child; it answers one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from wise_al.datasets.check import DatasetSummary, Kind, check_dataset
from wise_al.datasets.rejected import DatasetRejected

#: An exit code of the child: it ran out of its memory limit.
OUT_OF_MEMORY = 3


def check_bounded(
    path: Path, kind: Kind, level_sha256: str | None, deadline_s: float, memory_bytes: int
) -> DatasetSummary:
    """:func:`~wise_al.datasets.check.check_dataset` in a child process.

    Raises
    ------
    DatasetRejected
        As the check does; or naming the limit the check passed (``file``).
    RuntimeError
        The child failed otherwise (a bug: its last line of stderr).
    """
    command = [
        sys.executable,
        "-m",
        "wise_al.datasets.bounded",
        str(path),
        kind,
        level_sha256 or "",
        str(memory_bytes),
    ]
    one_thread = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=deadline_s,
            env={**os.environ, **one_thread},
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        raise DatasetRejected(
            None, "file", f"checking it took longer than {deadline_s:g} s (the limit)"
        ) from None
    if done.returncode == OUT_OF_MEMORY:
        raise DatasetRejected(
            None, "file", f"checking it needed more than {memory_bytes >> 20} MiB (the limit)"
        )
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the dataset check failed (exit code {done.returncode}): {last}")
    answer = json.loads(done.stdout)
    if "rejected" in answer:
        raise DatasetRejected(**answer["rejected"])
    return DatasetSummary(**answer["summary"])


def main(argv: list[str]) -> int:
    """The child: limit its memory, check, and print the summary or the refusal as JSON."""
    path, kind, level, memory_bytes = argv
    limit = int(memory_bytes) + _address_space_bytes()  # on top of what the imports took
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        summary = check_dataset(Path(path), kind, level or None)  # type: ignore[arg-type]
        answer: dict[str, object] = {"summary": summary.as_dict()}
    except DatasetRejected as exc:
        answer = {"rejected": {"frame": exc.frame, "field": exc.field, "reason": exc.reason}}
    except MemoryError:
        return OUT_OF_MEMORY
    sys.stdout.write(json.dumps(answer))
    return 0


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
