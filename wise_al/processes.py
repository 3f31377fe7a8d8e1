"""Long work that can be told to stop: child processes (CP2K, MACE training) and loops (MD).

A cancelled campaign's running units must end, not run to completion: each long run asks a
``should_stop`` question while it works (the jobs ask the database whether the campaign is
still running), and a true answer kills the child's whole process group, or raises
:class:`Stopped` out of an in-process loop. What the run had made so far is the caller's to
discard.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ShouldStop = Callable[[], bool]


class Stopped(Exception):
    """Raised out of in-process work whose ``should_stop`` answered true."""


def throttled(check: ShouldStop, interval_s: float) -> ShouldStop:
    """``check``, asked at most once per ``interval_s`` (False in between).

    MD asks at every save interval, which may be milliseconds apart; the database need not
    hear about it that often.
    """
    last = time.monotonic()

    def ask() -> bool:
        nonlocal last
        now = time.monotonic()
        if now - last < interval_s:
            return False
        last = now
        return check()

    return ask


@dataclass(frozen=True)
class ProcessEnd:
    """How a child process ended: its exit code, or why it was killed."""

    returncode: int | None  # None: killed (time limit or stop)
    timed_out: bool
    stopped: bool
    wall_time_s: float


def run_process(
    command: Sequence[str],
    log: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    time_limit_s: float | None = None,
    should_stop: ShouldStop | None = None,
    poll_interval_s: float = 2.0,
) -> ProcessEnd:
    """Run ``command`` with stdout and stderr in ``log``; kill its process group on time-out
    or when ``should_stop()`` turns true (asked every ``poll_interval_s``)."""
    start = time.monotonic()
    deadline = start + time_limit_s if time_limit_s is not None else float("inf")
    code: int | None = None
    timed_out = stopped = False
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: mpirun's or torch's children too
        )
        try:
            while code is None and not (timed_out or stopped):
                try:
                    wait_s = max(0.0, min(poll_interval_s, deadline - time.monotonic()))
                    code = process.wait(timeout=wait_s)
                except subprocess.TimeoutExpired:
                    timed_out = time.monotonic() >= deadline
                    stopped = not timed_out and should_stop is not None and should_stop()
        finally:
            if code is None:  # killed on purpose, or this worker is being torn down
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return ProcessEnd(code, timed_out, stopped, time.monotonic() - start)
