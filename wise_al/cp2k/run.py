"""Running CP2K: a launch profile kept apart from the input, one directory per label."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from wise_al.cp2k.slurm import JOB_SCRIPT, SlurmProfile, job_script, run_job
from wise_al.errors import WiseAlError
from wise_al.processes import ShouldStop, run_process

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
        Wall-clock limit; the whole process tree is killed past it (Slurm: ``--time``).
    slurm
        Run each CP2K as a Slurm job instead of a child process (None: here).
    poll_interval_s
        How often a local run checks whether it should stop (a cancelled campaign).
    """

    binary: str = "cp2k"
    mpi_ranks: int = 1
    omp_threads: int = 1
    time_limit_s: float = 3600.0
    slurm: SlurmProfile | None = None
    poll_interval_s: float = 2.0

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
    """How the process ended.

    ``cancelled``: stopped because its campaign was; ``scheduler_state``: the Slurm job's
    final state and ``job_ids`` every job submitted for the run (both empty for a local run).
    """

    returncode: int | None
    timed_out: bool
    wall_time_s: float
    output: Path
    cancelled: bool = False
    scheduler_state: str | None = None
    job_ids: tuple[str, ...] = ()


def run_cp2k(
    input_text: str, work_dir: Path, profile: LaunchProfile, should_stop: ShouldStop | None = None
) -> RunOutcome:
    """Write the input into ``work_dir`` and run CP2K there (here, or as a Slurm job), killing
    it on time-out or when ``should_stop()`` turns true.

    Raises
    ------
    UnsafeInput
        Before anything is written or started, if the input could leave ``work_dir``.
    """
    check_contained(input_text)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / INPUT_NAME).write_text(input_text)
    if profile.slurm is not None:
        return _run_in_slurm(input_text, work_dir, profile, profile.slurm, should_stop)
    env = {**os.environ, "OMP_NUM_THREADS": str(profile.omp_threads)}
    if profile.mpi_ranks > 1:  # Open MPI refuses root without these (containers run as root)
        env |= {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    end = run_process(
        profile.command(),
        work_dir / "stdout.log",
        cwd=work_dir,
        env=env,
        time_limit_s=profile.time_limit_s,
        should_stop=should_stop,
        poll_interval_s=profile.poll_interval_s,
    )
    return RunOutcome(
        end.returncode, end.timed_out, end.wall_time_s, work_dir / OUTPUT_NAME,
        cancelled=end.stopped,
    )  # fmt: skip


def _run_in_slurm(
    input_text: str,
    work_dir: Path,
    profile: LaunchProfile,
    slurm: SlurmProfile,
    should_stop: ShouldStop | None,
) -> RunOutcome:
    """One CP2K run as a Slurm job: the script beside the input, then wait (or re-attach)."""
    command = [profile.binary, "-i", INPUT_NAME, "-o", OUTPUT_NAME]
    script = job_script(slurm, command, profile.time_limit_s)
    (work_dir / JOB_SCRIPT).write_text(script)
    # the job is this input under this script: a changed one is another job
    identity = hashlib.sha256(f"{input_text}\0{script}".encode()).hexdigest()
    end = run_job(work_dir, identity, slurm, should_stop)
    return RunOutcome(
        end.exit_code if end.state in ("COMPLETED", "FAILED", "UNKNOWN") else None,
        timed_out=end.state in ("TIMEOUT", "DEADLINE"),
        wall_time_s=end.wall_time_s,
        output=work_dir / OUTPUT_NAME,
        cancelled=end.state == "CANCELLED",
        scheduler_state=end.state,
        job_ids=end.job_ids,
    )
