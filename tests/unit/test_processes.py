"""Child processes that can be stopped: the whole process group dies, at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from wise_al.processes import run_process, throttled


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed, not yet reaped by init) counts as dead
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_a_stop_request_kills_the_child_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 300 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    end = run_process(
        ["sh", "-c", script],
        tmp_path / "log",
        should_stop=lambda: pid_file.exists(),
        poll_interval_s=0.1,
    )
    assert end.stopped and end.returncode is None and not end.timed_out
    assert time.monotonic() - started < 30
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_a_time_limit_kills_and_a_normal_exit_keeps_its_code(tmp_path: Path) -> None:
    slow = run_process(["sleep", "300"], tmp_path / "a.log", time_limit_s=0.3, poll_interval_s=0.1)
    assert slow.timed_out and slow.returncode is None and not slow.stopped
    quick = run_process(["sh", "-c", "echo hi; exit 3"], tmp_path / "b.log")
    assert quick.returncode == 3 and not (quick.stopped or quick.timed_out)
    assert (tmp_path / "b.log").read_text() == "hi\n"


def test_throttled_asks_at_most_once_per_interval() -> None:
    calls: list[float] = []

    def check() -> bool:
        calls.append(time.monotonic())
        return True

    ask = throttled(check, interval_s=0.2)
    answers = [ask() for _ in range(1000)]
    assert calls == [] and not any(answers)  # within the first interval: never asked
    time.sleep(0.25)
    assert ask() is True and len(calls) == 1
    assert ask() is False and len(calls) == 1


@pytest.mark.parametrize("bad", [["/no/such/binary"]])
def test_a_command_that_cannot_start_raises(tmp_path: Path, bad: list[str]) -> None:
    with pytest.raises(FileNotFoundError):
        run_process(bad, tmp_path / "log")
