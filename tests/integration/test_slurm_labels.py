"""CP2K labels through a real one-node Slurm cluster (``scripts/local-slurm.sh``).

Everything is real: munge, slurmctld, slurmd, sbatch, CP2K. Only the wall-time test stands
a shell script in for a CP2K that hangs (as on a sick node): Slurm's own time limit is a
minute at least, and no honest CP2K run of a test-sized cell lasts that long.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.cp2k_fixtures import li_water, needs_cp2k, wrapper
from tests.support.loop_fixtures import small_campaign
from wise_al.campaign_spec import parse_spec
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import RESULT_NAME, Labeller
from wise_al.cp2k.run import LaunchProfile
from wise_al.cp2k.slurm import JOB_RECORD, SlurmProfile, job_state
from wise_al.db.engine import transaction
from wise_al.db.models import Frame, FrameStatus, Iteration, Label
from wise_al.db.repositories import CampaignRepository
from wise_al.jobs.label import label_frame
from wise_al.settings import WorkerSettings
from wise_al.systems.structures import structure_to_dict

pytestmark = [needs_cp2k, pytest.mark.slow, pytest.mark.processes]
SCRIPT = Path(__file__).parents[2] / "scripts" / "local-slurm.sh"
POLL = SlurmProfile(poll_interval_s=0.3)


@pytest.fixture(scope="module")
def slurm() -> Iterator[Path]:
    """A running one-node cluster; its directory (config, logs, job completion log)."""
    if os.geteuid() != 0:
        pytest.skip("the local Slurm cluster needs root: slurmd starts jobs as their user")
    # one cluster per machine (its daemons hold fixed ports): the script's own directory
    directory = Path(os.environ.get("WISE_AL_SLURM_DIR", "/tmp/wise-al-slurm"))
    env = {**os.environ, "WISE_AL_SLURM_DIR": str(directory)}
    subprocess.run([str(SCRIPT), "start"], check=True, env=env, timeout=300)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLURM_CONF", str(directory / "slurm.conf"))
        yield directory
        subprocess.run(["scancel", "--user=root"], check=False)
    subprocess.run([str(SCRIPT), "stop"], check=True, env=env, timeout=60)


def _queue() -> list[str]:
    """Job ids Slurm still has pending or running (a cancelled job being torn down shows
    as completing for a moment: it is not)."""
    return subprocess.run(
        ["squeue", "-h", "-t", "PENDING,RUNNING", "-o", "%i"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


#: States a job passes through before its final one (a cancelled job is COMPLETING first).
TRANSIENT_STATES = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED"}


def _settled(job_id: str, timeout_s: float = 60.0) -> str | None:
    """The job's final state, once Slurm has torn it down (or its state after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    state = job_state(job_id)
    while state in TRANSIENT_STATES and time.monotonic() < deadline:
        time.sleep(0.3)
        state = job_state(job_id)
    return state


def _completed_jobs_in(slurm: Path, work_dir: Path) -> list[str]:
    """Job completion log entries of jobs that ran in ``work_dir``."""
    log = slurm / "log" / "jobcomp.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if f"WorkDir={work_dir} " in line]


def _job_record(store: Path, timeout_s: float = 60.0) -> tuple[Path, dict[str, object]]:
    """The first attempt's job record once it exists (the job is submitted)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sorted(store.glob(f"*/*/attempt-1/{JOB_RECORD}"))
        if found:
            return found[0].parent, json.loads(found[0].read_text())
        time.sleep(0.1)
    raise AssertionError("no job was submitted")


def test_a_label_made_through_slurm_equals_the_local_one(slurm: Path, tmp_path: Path) -> None:
    atoms, spec, cp2k = li_water(), LabellingSpec(), detect()
    local = Labeller(spec, cp2k, LaunchProfile(), tmp_path / "local").label(atoms)
    queued = Labeller(spec, cp2k, LaunchProfile(slurm=POLL), tmp_path / "slurm").label(atoms)
    assert local.ok and queued.ok, queued.attempts
    # one build, one input, one thread: the same numbers to the last bit
    assert queued.energy_eV == local.energy_eV
    np.testing.assert_array_equal(queued.forces_eV_per_A, local.forces_eV_per_A)
    assert queued.level_sha256 == local.level_sha256
    (attempt,) = queued.attempts
    (job_id,) = attempt.job_ids
    attempt_dir = Path(queued.directory, attempt.directory)
    assert (attempt_dir / "job.sh").is_file() and (attempt_dir / "label.inp").is_file()
    assert len(_completed_jobs_in(slurm, attempt_dir)) == 1
    assert f"JobId={job_id} " in _completed_jobs_in(slurm, attempt_dir)[0]
    assert local.attempts[0].job_ids == []


def test_a_job_past_its_wall_time_is_a_time_limit_and_the_ladder_stops(
    slurm: Path, tmp_path: Path
) -> None:
    hangs = wrapper(tmp_path, "hanging-cp2k", "exec sleep 600")
    # Slurm's --time is whole minutes: 60 s, enforced by the controller within a minute more
    profile = LaunchProfile(binary=str(hangs), time_limit_s=60, slurm=POLL)
    result = Labeller(LabellingSpec(), detect(), profile, tmp_path / "labels").label(li_water())
    assert result.failure == "time_limit"
    # the ladder climbs only for an unconverged SCF: a second try would hang the same way
    assert len(result.attempts) == 1 and result.attempts[0].failure == "time_limit"
    (job_id,) = result.attempts[0].job_ids
    assert _settled(job_id) == "TIMEOUT" and job_id not in _queue()


def test_a_worker_killed_while_its_job_runs_re_attaches_and_the_label_is_made_once(
    slurm: Path, tmp_path: Path
) -> None:
    store = tmp_path / "labels"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from tests.support.cp2k_fixtures import li_water; "
            "from wise_al.cp2k.installation import detect; "
            "from wise_al.cp2k.label import Labeller; from wise_al.cp2k.run import LaunchProfile; "
            "from wise_al.cp2k.slurm import SlurmProfile; "
            "from wise_al.campaign_spec.labelling import LabellingSpec; "
            "Labeller(LabellingSpec(), detect(), LaunchProfile(slurm="
            "SlurmProfile(poll_interval_s=0.3)), __import__('pathlib').Path(sys.argv[1]))"
            ".label(li_water())",
            str(store),
        ],
        cwd=Path(__file__).parents[2],
    )
    attempt_dir, record = _job_record(store)
    child.send_signal(signal.SIGKILL)  # the worker dies; its job does not
    child.wait()
    assert not (attempt_dir.parent / RESULT_NAME).exists()
    job_id = str(record["job_id"])
    result = Labeller(LabellingSpec(), detect(), LaunchProfile(slurm=POLL), store).label(li_water())
    assert result.ok, result.attempts
    (attempt,) = result.attempts
    assert attempt.job_ids == [job_id]  # the restarted worker waited for the same job
    assert len(_completed_jobs_in(slurm, attempt_dir)) == 1  # and submitted none of its own
    assert sorted(p.name for p in attempt_dir.parent.iterdir()) == ["attempt-1", RESULT_NAME]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cancelling_the_campaign_cancels_its_slurm_job_and_records_no_label(
    slurm: Path, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = WorkerSettings(
        home=tmp_path,
        artifact_dir=tmp_path / "artifacts",
        cp2k_launcher="slurm",
        slurm_poll_s=0.3,
        cp2k_binary=str(wrapper(tmp_path, "slow-cp2k", 'sleep 30; exec CP2K "$@"')),
    )
    with transaction(session_factory) as session:
        campaigns = CampaignRepository(session)
        campaign_id = campaigns.create(parse_spec(small_campaign())).id
        campaigns.control(campaign_id, "start")
        iteration = session.scalars(select(Iteration)).one()
        frame = Frame(
            campaign_id=campaign_id,
            iteration_id=iteration.id,
            md_step=0,
            status=FrameStatus.SELECTED,
            n_atoms=len(li_water()),
            structure=structure_to_dict(li_water()),
        )
        session.add(frame)
        session.flush()
        frame_id = frame.id
    worker = threading.Thread(
        target=label_frame, args=(session_factory, settings, campaign_id, frame_id)
    )
    worker.start()
    _, record = _job_record(settings.labels_dir())
    job_id = str(record["job_id"])
    assert job_id in _queue()
    with transaction(session_factory) as session:
        CampaignRepository(session).control(campaign_id, "cancel")
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert _settled(job_id) == "CANCELLED" and job_id not in _queue()
    with transaction(session_factory) as session:
        assert session.scalars(select(Label)).all() == []  # nothing half-made is kept
