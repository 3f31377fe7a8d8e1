"""Real CP2K GFN1-xTB labels: our input/run/parse agree with ASE's CP2K calculator."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.cp2k import CP2K
from ase.io import read

from tests.mace_models import DATA
from wise_al.cp2k.failures import Failure, classify
from wise_al.cp2k.input import build_input, render_input
from wise_al.cp2k.parse import parse_output
from wise_al.cp2k.run import LaunchProfile, RunOutcome, run_cp2k
from wise_al.spec.labelling import LabellingSpec

pytestmark = pytest.mark.skipif(shutil.which("cp2k") is None, reason="CP2K is not installed")


@pytest.fixture(scope="module")
def li_water() -> Atoms:
    atoms = read(DATA, 0)
    assert isinstance(atoms, Atoms)
    atoms.pbc = True  # Li+ and 4 waters in a periodic 14 Å box
    return atoms


def _ase_reference(atoms: Atoms, tree: dict, directory: Path) -> tuple[float, np.ndarray]:
    # Give ASE the very same DFT section; it writes cell, coordinates and charge itself.
    dft = dict(tree["force_eval"]["dft"])
    charge = dft.pop("charge")
    dft.pop("multiplicity")
    inp = render_input({"force_eval": {"dft": dft}})
    calc = CP2K(
        command="cp2k_shell",
        inp=inp,
        basis_set=None,
        pseudo_potential=None,
        xc=None,
        potential_file=None,
        basis_set_file=None,
        max_scf=None,
        cutoff=None,
        poisson_solver=None,
        charge=charge,
        multiplicity=1,
        stress_tensor=False,
        print_level="LOW",
        directory=str(directory),
    )
    atoms = atoms.copy()
    atoms.calc = calc
    return atoms.get_potential_energy(), atoms.get_forces()


def test_xtb_label_matches_ase(li_water: Atoms, tmp_path: Path) -> None:
    # converge tightly: at EPS_SCF 1e-6 two SCF paths differ by ~5e-5 eV in energy
    tree = build_input(LabellingSpec(eps_scf=1e-10, max_scf=200), li_water)
    outcome = run_cp2k(render_input(tree), tmp_path / "ours", LaunchProfile(time_limit_s=300))
    assert outcome.returncode == 0 and not outcome.timed_out
    result = parse_output(outcome.output.read_text())
    assert result.complete and result.scf_converged and result.scf_steps
    assert result.version is not None and "2023.1" in result.version
    assert result.forces_eV_per_A is not None and result.stress_eV_per_A3 is not None
    energy, forces = _ase_reference(li_water, tree, tmp_path / "ase")
    assert result.energy_eV == pytest.approx(energy, abs=1e-6)
    np.testing.assert_allclose(result.forces_eV_per_A, forces, atol=1e-5)
    assert abs(result.forces_eV_per_A.sum(axis=0)).max() < 1e-6  # momentum conserved


def test_a_time_limit_kills_cp2k_and_leaves_no_label(li_water: Atoms, tmp_path: Path) -> None:
    outcome = run_cp2k(
        render_input(build_input(LabellingSpec(), li_water)),
        tmp_path,
        LaunchProfile(time_limit_s=0.3),
    )
    assert outcome.timed_out and outcome.returncode is None
    text = outcome.output.read_text() if outcome.output.exists() else ""
    assert not parse_output(text).complete


def _run(
    spec: LabellingSpec, atoms: Atoms, work: Path, time_limit_s: float = 300
) -> Failure | None:
    profile = LaunchProfile(time_limit_s=time_limit_s)
    outcome = run_cp2k(render_input(build_input(spec, atoms)), work, profile)
    text = outcome.output.read_text() if outcome.output.exists() else ""
    return classify(outcome, parse_output(text) if text else None, text)


def test_failures_are_classified(li_water: Atoms, tmp_path: Path) -> None:
    assert _run(LabellingSpec(), li_water, tmp_path / "ok") is None
    # CP2K exits 0 here: only the text says the SCF did not converge
    assert _run(LabellingSpec(max_scf=2), li_water, tmp_path / "scf") == Failure.SCF_NOT_CONVERGED
    assert _run(LabellingSpec(), li_water, tmp_path / "slow", time_limit_s=0.3) == (
        Failure.TIME_LIMIT
    )
    bad = tmp_path / "bad"
    bad.mkdir()
    outcome = run_cp2k("&GLOBAL\n  BOGUS_KEYWORD 1\n&END GLOBAL\n", bad, LaunchProfile())
    text = outcome.output.read_text()
    assert classify(outcome, parse_output(text), text) == Failure.INVALID_INPUT
    # a run cut short: keep the first half of a good output
    good = (tmp_path / "ok" / "label.out").read_text()
    cut = good[: len(good) // 2]
    assert classify(outcome_ok(tmp_path / "ok"), parse_output(cut), cut) == Failure.TRUNCATED_OUTPUT
    assert classify(outcome_ok(tmp_path / "ok"), None) == Failure.MISSING_OUTPUT


def outcome_ok(work: Path) -> RunOutcome:
    return RunOutcome(0, False, 1.0, work / "label.out")
