"""Check an upload in a child process, with a deadline and a memory limit.

The check parses untrusted input, partly in C code that holds the interpreter lock: in the
API's own process one pathological file would stall every other request, or grow until the
machine swaps. In a child process it is killed at its deadline and refused memory beyond
its limit, while the API thread only waits on a pipe. Children fork from a server process
that has imported the checker once (multiprocessing's forkserver), so a check starts in
milliseconds, not in the second a fresh interpreter takes to import ASE.
"""

from __future__ import annotations

import multiprocessing
import resource
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from wise_al.datasets.check import DatasetSummary, Kind, check_dataset
from wise_al.datasets.rejected import DatasetRejected

#: An exit code of the child: it ran out of its memory limit.
OUT_OF_MEMORY = 3

_context = multiprocessing.get_context("forkserver")
# ASE's reader too: the checker imports it lazily (the API starts without it), and a child
# that imported it under its memory limit would run out of memory before reading a frame
_context.set_forkserver_preload([__name__, "ase.io"])


def check_bounded(
    path: Path, kind: Kind, level_sha256: str | None, deadline_s: float, memory_bytes: int
) -> DatasetSummary:
    """:func:`~wise_al.datasets.check.check_dataset` in a child process.

    Raises
    ------
    DatasetRejected
        As the check does; or naming the limit the check passed (field ``check``).
    RuntimeError
        The child died otherwise (a bug).
    """
    receiver, sender = _context.Pipe(duplex=False)
    child = _context.Process(
        target=_check_in_child,
        args=(sender, str(path), kind, level_sha256, memory_bytes),
        daemon=True,
    )
    child.start()
    sender.close()  # only the child writes: the pipe reaches EOF when it dies
    try:
        if not receiver.poll(deadline_s):
            raise DatasetRejected(None, "check", f"took longer than {deadline_s:g} s (the limit)")
        try:
            answer: dict[str, Any] = receiver.recv()
        except EOFError:  # it died before answering
            child.join(10)
            if child.exitcode == OUT_OF_MEMORY:
                reason = f"needed more than {memory_bytes >> 20} MiB (the limit)"
                raise DatasetRejected(None, "check", reason) from None
            raise RuntimeError(f"the dataset check died (exit code {child.exitcode})") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(10)
    if "rejected" in answer:
        raise DatasetRejected(**answer["rejected"])
    return DatasetSummary(**answer["summary"])


def _check_in_child(
    sender: Connection, path: str, kind: Kind, level_sha256: str | None, memory_bytes: int
) -> None:
    """The child: limit its memory, check, and send the summary or the refusal."""
    limit = memory_bytes + _address_space_bytes()  # on top of what the imports took
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        summary = check_dataset(Path(path), kind, level_sha256)
        answer: dict[str, object] = {"summary": summary.as_dict()}
    except DatasetRejected as exc:
        answer = {"rejected": {"frame": exc.frame, "field": exc.field, "reason": exc.reason}}
    except MemoryError:
        raise SystemExit(OUT_OF_MEMORY) from None
    sender.send(answer)
    sender.close()


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()
