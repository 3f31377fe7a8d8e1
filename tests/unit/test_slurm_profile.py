"""The Slurm job script, the profile's checks, and how job ends map to failure classes.

No cluster here: ``tests/integration/test_slurm_labels.py`` runs the same code on a real
one-node Slurm.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.failures import Failure, classify_failure
from wise_al.cp2k.label import make_labeller
from wise_al.cp2k.run import RunOutcome
from wise_al.cp2k.slurm import EXIT_CODE_FILE, SlurmError, SlurmProfile, job_script
from wise_al.settings import WorkerSettings


def test_the_job_script_asks_for_the_allocation_and_records_cp2ks_exit_code() -> None:
    profile = SlurmProfile(
        partition="cpu",
        account="chem42",
        nodes=2,
        ntasks=8,
        cpus_per_task=4,
        setup_lines=("module load cp2k/2023.1",),
        extra_options=("--qos=short", "--exclusive"),
    )
    script = job_script(profile, ["cp2k.psmp", "-i", "label.inp", "-o", "label.out"], 90.0)
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    options = [line.removeprefix("#SBATCH ") for line in lines if line.startswith("#SBATCH")]
    assert {"--nodes=2", "--ntasks=8", "--cpus-per-task=4", "--partition=cpu"} <= set(options)
    assert {"--account=chem42", "--qos=short", "--exclusive"} <= set(options)
    assert "--time=2" in options  # 90 s rounds up to Slurm's whole minutes, never down
    # every #SBATCH line precedes the first command, or sbatch ignores it
    first_command = lines.index("module load cp2k/2023.1")
    assert all(not line.startswith("#SBATCH") for line in lines[first_command:])
    assert "export OMP_NUM_THREADS=4" in lines
    run = lines[-1]
    assert run.startswith("srun cp2k.psmp -i label.inp -o label.out; echo $?")
    assert run.endswith(f"mv {EXIT_CODE_FILE}.tmp {EXIT_CODE_FILE}")


def test_one_rank_runs_cp2k_without_an_mpi_launcher() -> None:
    script = job_script(SlurmProfile(), ["cp2k", "-i", "label.inp"], 3600.0)
    assert script.splitlines()[-1].startswith("cp2k -i label.inp; echo $?")
    assert "#SBATCH --time=60" in script


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("extra_options", ("--mem=4G\n#SBATCH --uid=0",), "one line each"),
        ("extra_options", ("-p big",), "--name=value"),
        ("setup_lines", ("module load cp2k\0",), "no NUL"),
        ("partition", "cpu\nrm -rf /", "one line each"),
    ],
)
def test_settings_that_would_smuggle_lines_into_the_script_are_refused(
    field: str, value: object, reason: str
) -> None:
    with pytest.raises(SlurmError, match=reason):
        SlurmProfile(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "returncode", "timed_out", "cancelled", "failure"),
    [
        ("TIMEOUT", None, True, False, Failure.TIME_LIMIT),
        ("OUT_OF_MEMORY", None, False, False, Failure.OUT_OF_MEMORY),
        ("NODE_FAIL", None, False, False, Failure.NODE_FAILURE),
        ("PREEMPTED", None, False, False, Failure.NODE_FAILURE),
        ("CANCELLED", None, False, True, Failure.CANCELLED),
        ("FAILED", 1, False, False, Failure.CRASHED),
        ("UNKNOWN", None, False, False, Failure.CRASHED),  # purged, and no exit code written
    ],
)
def test_job_ends_map_to_failure_classes(
    state: str, returncode: int | None, timed_out: bool, cancelled: bool, failure: Failure
) -> None:
    outcome = RunOutcome(
        returncode, timed_out, 1.0, Path("label.out"), cancelled=cancelled, scheduler_state=state
    )
    assert classify_failure(outcome, None) is failure
    # a lost node or a cancellation says nothing about the input: never stored as its result
    assert failure.cached is (failure not in (Failure.NODE_FAILURE, Failure.CANCELLED))


def test_the_worker_settings_build_the_slurm_profile(tmp_path: Path) -> None:
    settings = WorkerSettings(
        home=tmp_path,
        cp2k_launcher="slurm",
        cp2k_mpi_ranks=4,
        cp2k_omp_threads=2,
        slurm_partition="short",
        slurm_setup=["module load cp2k"],
        slurm_options=["--mem=8G"],
    )
    profile = make_labeller(settings, LabellingSpec(), reuse_wfn=False).profile
    assert profile.slurm is not None
    assert (profile.slurm.ntasks, profile.slurm.cpus_per_task) == (4, 2)
    assert profile.slurm.partition == "short" and profile.slurm.extra_options == ("--mem=8G",)
    local = make_labeller(WorkerSettings(home=tmp_path), LabellingSpec(), reuse_wfn=False)
    assert local.profile.slurm is None
