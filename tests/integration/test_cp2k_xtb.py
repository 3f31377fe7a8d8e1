"""Real CP2K GFN1-xTB labels: our input/run/parse agree with ASE's CP2K calculator."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.cp2k_fixtures import li_water, needs_cp2k, wrapper
from tests.support.cp2k_reference import ase_single_point
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.failures import Failure, classify_failure
from wise_al.cp2k.input import build_input, frame_charge_e, render_input
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.parse import parse_output
from wise_al.cp2k.run import LaunchProfile, RunOutcome, run_cp2k
from wise_al.systems.cells import pack_cell

pytestmark = needs_cp2k


def test_xtb_label_matches_ase(tmp_path: Path) -> None:
    atoms = li_water()
    # converge tightly: at EPS_SCF 1e-6 two SCF paths differ by ~5e-5 eV in energy
    tree = build_input(LabellingSpec(eps_scf=1e-10, max_scf=200), atoms)
    outcome = run_cp2k(render_input(tree), tmp_path / "ours", LaunchProfile(time_limit_s=300))
    assert outcome.returncode == 0 and not outcome.timed_out
    result = parse_output(outcome.output.read_text())
    assert result.complete and result.scf_converged and result.scf_steps
    assert result.version is not None and "2023.1" in result.version
    assert result.forces_eV_per_A is not None and result.stress_eV_per_A3 is not None
    energy, forces = ase_single_point(atoms, tree, tmp_path / "ase")
    assert result.energy_eV == pytest.approx(energy, abs=1e-6)
    np.testing.assert_allclose(result.forces_eV_per_A, forces, atol=1e-5)
    assert abs(result.forces_eV_per_A.sum(axis=0)).max() < 1e-6  # momentum conserved


def test_a_litfsi_water_cell_is_labelled(tmp_path: Path) -> None:
    cell = pack_cell({"LiTFSI": 2, "H2O": 5}, seed=3)  # 47 atoms, the 21 m ratio
    assert frame_charge_e(cell) == 0
    labeller = Labeller(LabellingSpec(), detect(), LaunchProfile(), tmp_path)
    result = labeller.label(cell)
    assert result.ok, result.attempts
    assert result.forces_eV_per_A is not None and result.stress_eV_per_A3 is not None
    forces = np.array(result.forces_eV_per_A)
    assert forces.shape == (47, 3) and np.isfinite(forces).all()
    assert abs(forces.sum(axis=0)).max() < 1e-4  # no net force on a periodic cell
    assert result.level_of_theory["method"] == "GFN1-xTB"


def _run(
    spec: LabellingSpec, work: Path, time_limit_s: float = 300, binary: str = "cp2k"
) -> Failure | None:
    profile = LaunchProfile(binary=binary, time_limit_s=time_limit_s)
    outcome = run_cp2k(render_input(build_input(spec, li_water())), work, profile)
    text = outcome.output.read_text() if outcome.output.exists() else ""
    return classify_failure(outcome, parse_output(text) if text else None, text)


def test_failures_are_classified(tmp_path: Path) -> None:
    assert _run(LabellingSpec(), tmp_path / "ok") is None
    # CP2K exits 0 here: only the text says the SCF did not converge
    assert _run(LabellingSpec(max_scf=2), tmp_path / "scf") == Failure.SCF_NOT_CONVERGED
    assert _run(LabellingSpec(), tmp_path / "slow", time_limit_s=0.3) == Failure.TIME_LIMIT
    killer = wrapper(
        tmp_path, "killed-cp2k", 'CP2K "$@" & pid=$!; sleep 0.4; kill -9 $pid; wait $pid'
    )
    assert _run(LabellingSpec(), tmp_path / "killed", binary=str(killer)) == Failure.CRASHED
    bad = tmp_path / "bad"
    bad.mkdir()
    outcome = run_cp2k("&GLOBAL\n  BOGUS_KEYWORD 1\n&END GLOBAL\n", bad, LaunchProfile())
    text = outcome.output.read_text()
    assert classify_failure(outcome, parse_output(text), text) == Failure.INVALID_INPUT
    # a run cut short: keep the first half of a good output
    finished = RunOutcome(0, False, 1.0, tmp_path / "ok" / "label.out")
    good = finished.output.read_text()
    cut = good[: len(good) // 2]
    assert classify_failure(finished, parse_output(cut), cut) == Failure.TRUNCATED_OUTPUT
    assert classify_failure(finished, None) == Failure.MISSING_OUTPUT


def test_a_time_limit_kills_the_whole_process_tree(tmp_path: Path) -> None:
    # the wrapper's child CP2K must die with it, or it would keep a core busy forever
    pid_file = tmp_path / "cp2k.pid"
    slow = wrapper(tmp_path, "slow-cp2k", f'CP2K "$@" & echo $! > {pid_file}; wait')
    outcome = run_cp2k(
        render_input(build_input(LabellingSpec(), li_water())),
        tmp_path / "run",
        LaunchProfile(binary=str(slow), time_limit_s=0.5),
    )
    assert outcome.timed_out and outcome.returncode is None
    pid = int(pid_file.read_text())
    # SIGKILL is delivered asynchronously: give the kernel a moment to tear the orphan down
    deadline = time.monotonic() + 10.0
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting for its parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_stop_request_kills_a_local_run_and_its_label_is_not_stored(tmp_path: Path) -> None:
    pid_file = tmp_path / "cp2k.pid"
    slow = wrapper(tmp_path, "slow-cp2k", f'sleep 30 & echo $! > {pid_file}; wait; CP2K "$@"')
    profile = LaunchProfile(binary=str(slow), poll_interval_s=0.1)
    labeller = Labeller(LabellingSpec(), detect(), profile, tmp_path / "labels")
    started = time.monotonic()
    result = labeller.label(li_water(), should_stop=pid_file.exists)
    assert result.failure == "cancelled" and time.monotonic() - started < 20
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10.0
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)  # the whole process group went, not just the wrapper
    # a cancelled run says nothing about its input: the next try runs it for real
    assert not list((tmp_path / "labels").glob("*/*/result.json"))
    again = Labeller(LabellingSpec(), detect(), LaunchProfile(), tmp_path / "labels")
    assert again.label(li_water()).ok
