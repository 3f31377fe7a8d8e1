"""Running CP2K: a launch profile kept apart from the input, one directory per label."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from wise_al.errors import WiseAlError

INPUT_NAME = "label.inp"
OUTPUT_NAME = "label.out"


@dataclass(frozen=True)
class LaunchProfile:
    """How to start CP2K on this worker (never part of the level of theory).

    Attributes
    ----------
    binary
        ``cp2k`` (Debian: cp2k.psmp) or a full path.
    mpi_ranks
        > 1 runs through ``mpirun -np``.
    omp_threads
        ``OMP_NUM_THREADS`` per rank.
    time_limit_s
        Wall-clock limit; the whole process tree is killed past it.
    """

    binary: str = "cp2k"
    mpi_ranks: int = 1
    omp_threads: int = 1
    time_limit_s: float = 3600.0

    def command(self) -> list[str]:
        base = [self.binary, "-i", INPUT_NAME, "-o", OUTPUT_NAME]
        return ["mpirun", "-np", str(self.mpi_ranks), *base] if self.mpi_ranks > 1 else base


#: Every character a generated input needs. No ``@`` (preprocessor: @INCLUDE, @SET), no ``$``
#: (variables), no path separators, quotes or ``~``: nothing can name a file outside the
#: label's directory, whatever slipped past the spec's own checks.
_SAFE_LINE = re.compile(r"^[A-Za-z0-9_.+\-()& \t]*$")


class UnsafeInput(WiseAlError):
    """A CP2K input could reach outside its work directory; CP2K was not started."""


def check_contained(input_text: str) -> None:
    """Refuse input text that could read or write outside the label's directory."""
    for number, line in enumerate(input_text.splitlines(), start=1):
        if not _SAFE_LINE.fullmatch(line) or ".." in line:
            shown = line.strip()[:60]
            raise UnsafeInput(
                f"CP2K input line {number} ({shown!r}) may only use letters, digits, "
                "spaces and . _ + - ( ) &: no preprocessor directives, variables or paths"
            )


@dataclass(frozen=True)
class RunOutcome:
    """How the process ended."""

    returncode: int | None
    timed_out: bool
    wall_time_s: float
    output: Path


def run_cp2k(input_text: str, work_dir: Path, profile: LaunchProfile) -> RunOutcome:
    """Write the input into ``work_dir`` and run CP2K there, killing its tree on time-out.

    Raises
    ------
    UnsafeInput
        Before anything is written or started, if the input could leave ``work_dir``.
    """
    check_contained(input_text)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / INPUT_NAME).write_text(input_text)
    env = {**os.environ, "OMP_NUM_THREADS": str(profile.omp_threads)}
    if profile.mpi_ranks > 1:  # Open MPI refuses root without these (containers run as root)
        env |= {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    start = time.monotonic()
    with (work_dir / "stdout.log").open("wb") as log:
        process = subprocess.Popen(
            profile.command(),
            cwd=work_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a time-out kills mpirun's children too
        )
        try:
            code: int | None = process.wait(timeout=profile.time_limit_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code, timed_out = None, True
    return RunOutcome(code, timed_out, time.monotonic() - start, work_dir / OUTPUT_NAME)
