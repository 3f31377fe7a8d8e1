"""Running CP2K as a Slurm job: the script beside the input, submit, poll, re-attach.

The DFT worker writes ``job.sh`` into the attempt's directory (which the cluster's nodes
must see: a shared filesystem), submits it with ``sbatch``, and records the job id in
``slurm-job.json`` before it waits. A worker restarted while the job runs finds that record
and waits for the same job instead of submitting twice. The script writes CP2K's exit code
itself, so the outcome is known on clusters without accounting (``sacct``); Slurm's own
state says what the script cannot: a wall-time kill, an out-of-memory kill, a lost node.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from wise_al.atomic_files import write_text_atomic
from wise_al.errors import WiseAlError
from wise_al.processes import ShouldStop

JOB_SCRIPT = "job.sh"
JOB_RECORD = "slurm-job.json"
EXIT_CODE_FILE = "cp2k.exitcode"
#: Job states after which the job will not run again.
FINISHED = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "TIMEOUT",
        "CANCELLED",
        "NODE_FAIL",
        "PREEMPTED",
        "OUT_OF_MEMORY",
        "BOOT_FAIL",
        "DEADLINE",
    }
)
#: Ends that say nothing about the input: the same job is submitted again.
RESUBMIT = frozenset({"NODE_FAIL", "PREEMPTED", "BOOT_FAIL"})


class SlurmError(WiseAlError):
    """Slurm refused a submission or cannot say what became of a job."""


@dataclass(frozen=True)
class SlurmProfile:
    """Where and how a DFT worker's CP2K jobs run on a Slurm cluster.

    Attributes
    ----------
    partition, account
        ``sbatch --partition`` and ``--account`` (None: the cluster's defaults).
    nodes, ntasks, cpus_per_task
        The allocation; MPI ranks are ``ntasks``, OpenMP threads ``cpus_per_task``.
    setup_lines
        Shell lines run before CP2K (``module load cp2k/2023.1``, ``export ...``).
    extra_options
        More ``sbatch`` options, each ``--name=value`` or ``--flag``.
    mpi_launcher
        What starts the ranks inside the job (``srun``, or ``mpirun -np N``) when ntasks > 1.
    poll_interval_s
        How often the worker asks Slurm about its job.
    max_submissions
        Submissions of one attempt when jobs end by a lost node or preemption.
    """

    partition: str | None = None
    account: str | None = None
    nodes: int = 1
    ntasks: int = 1
    cpus_per_task: int = 1
    setup_lines: tuple[str, ...] = ()
    extra_options: tuple[str, ...] = ()
    mpi_launcher: str = "srun"
    poll_interval_s: float = 5.0
    max_submissions: int = 3

    def __post_init__(self) -> None:
        for line in (
            *self.setup_lines,
            *self.extra_options,
            self.partition or "",
            self.account or "",
        ):
            if any(c in line for c in "\n\r\0"):
                raise SlurmError(f"Slurm setting {line[:40]!r}: one line each, no NUL")
        for option in self.extra_options:
            if not option.startswith("--") or " " in option.split("=", 1)[0]:
                raise SlurmError(f"sbatch option {option!r}: write it as --name=value or --flag")


@dataclass(frozen=True)
class JobEnd:
    """How a job ended: its Slurm state, the script's CP2K exit code, every job id used."""

    state: str
    exit_code: int | None
    job_ids: tuple[str, ...]
    wall_time_s: float


def job_script(profile: SlurmProfile, cp2k_command: list[str], time_limit_s: float) -> str:
    """The batch script of one CP2K run (its directory is the job's working directory)."""
    minutes = max(1, int(-(-time_limit_s // 60)))
    options = [
        "--job-name=wise-al-cp2k",
        f"--nodes={profile.nodes}",
        f"--ntasks={profile.ntasks}",
        f"--cpus-per-task={profile.cpus_per_task}",
        f"--time={minutes}",
        "--output=slurm-%j.out",
        *([f"--partition={profile.partition}"] if profile.partition else []),
        *([f"--account={profile.account}"] if profile.account else []),
        *profile.extra_options,
    ]
    run = shlex.join(cp2k_command)
    if profile.ntasks > 1:
        run = f"{profile.mpi_launcher} {run}"
    return "\n".join(
        [
            "#!/bin/bash",
            *(f"#SBATCH {o}" for o in options),
            *profile.setup_lines,
            f"export OMP_NUM_THREADS={profile.cpus_per_task}",
            # the exit code lands atomically: a file that exists holds the whole number
            f"{run}; echo $? > {EXIT_CODE_FILE}.tmp && mv {EXIT_CODE_FILE}.tmp {EXIT_CODE_FILE}",
            "",
        ]
    )


def _slurm(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"{args[0]} did not answer: {exc}") from exc


def submit(work_dir: Path) -> str:
    """``sbatch`` the directory's job script; its job id."""
    done = _slurm("sbatch", "--parsable", f"--chdir={work_dir}", str(work_dir / JOB_SCRIPT))
    job_id = done.stdout.strip().split(";")[0]
    if done.returncode != 0 or not job_id.isdigit():
        raise SlurmError(f"sbatch refused the job: {(done.stderr or done.stdout).strip()}")
    return job_id


def job_state(job_id: str) -> str | None:
    """The job's state (``RUNNING``, ``TIMEOUT`` ...), or None when Slurm no longer knows it."""
    shown = _slurm("scontrol", "show", "job", "--oneliner", job_id)
    if shown.returncode == 0:
        for field in shown.stdout.split():
            if field.startswith("JobState="):
                return field.removeprefix("JobState=")
    # purged from the controller's memory: accounting, where there is one, still knows
    accounted = _slurm("sacct", "-X", "-n", "-P", "-j", job_id, "-o", "State")
    # "CANCELLED by 0": the state is the first word
    words = accounted.stdout.split() if accounted.returncode == 0 else []
    return words[0] if words else None


def cancel(job_id: str) -> None:
    """``scancel`` a job (a finished one is left as it is)."""
    _slurm("scancel", job_id)


def _record(work_dir: Path, record: dict[str, object]) -> None:
    write_text_atomic(work_dir / JOB_RECORD, json.dumps(record))


def run_job(
    work_dir: Path,
    input_sha256: str,
    profile: SlurmProfile,
    should_stop: ShouldStop | None = None,
) -> JobEnd:
    """Run the directory's job script through Slurm until the job ends, or re-attach to it.

    The job record is written before waiting, so a worker killed meanwhile re-attaches to
    the same job. A job lost with its node (or preempted) is submitted again, up to
    ``profile.max_submissions`` times. ``should_stop`` (asked every poll) cancels the job.
    """
    record_file = work_dir / JOB_RECORD
    record = json.loads(record_file.read_text()) if record_file.exists() else {}
    if record and record.get("input_sha256") != input_sha256:
        cancel(str(record["job_id"]))  # another input's job in this directory: not ours
        record = {}
    job_ids = [str(j) for j in record.get("job_ids", [])]
    if record.get("state") in ("CANCELLED", *RESUBMIT):
        record = {}  # its end said nothing about the input: this try runs it again
    if "state" in record:  # it ended before the worker that waited for it was killed
        return JobEnd(str(record["state"]), record.get("exit_code"), tuple(job_ids), 0.0)
    start = time.monotonic()
    while True:
        if not record:
            (work_dir / EXIT_CODE_FILE).unlink(missing_ok=True)
            job_ids.append(submit(work_dir))
            record = {"job_id": job_ids[-1], "input_sha256": input_sha256, "job_ids": job_ids}
            _record(work_dir, record)
        job_id = str(record["job_id"])
        state = job_state(job_id)
        while state is not None and state not in FINISHED:
            if should_stop is not None and should_stop():
                cancel(job_id)
                return JobEnd("CANCELLED", None, tuple(job_ids), time.monotonic() - start)
            time.sleep(profile.poll_interval_s)
            state = job_state(job_id)
        state = state or "UNKNOWN"
        if state in RESUBMIT and len(job_ids) < profile.max_submissions:
            record = {}
            continue
        code_file = work_dir / EXIT_CODE_FILE
        code = int(code_file.read_text()) if code_file.exists() else None
        _record(work_dir, {**record, "state": state, "exit_code": code})
        return JobEnd(state, code, tuple(job_ids), time.monotonic() - start)
