"""The rescue ladder, wavefunction reuse and stored labels, with the real CP2K (xTB)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.cp2k_fixtures import li_water, needs_cp2k, wrapper
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.run import LaunchProfile
from wise_al.cp2k.wavefunctions import WavefunctionLibrary

pytestmark = [needs_cp2k, pytest.mark.slow]


def _labeller(tmp_path: Path, binary: str = "cp2k", max_scf: int = 50) -> Labeller:
    profile = LaunchProfile(binary=binary, time_limit_s=120)
    library = WavefunctionLibrary(tmp_path / "wfn")
    spec = LabellingSpec(max_scf=max_scf)
    return Labeller(spec, detect(), profile, tmp_path / "labels", library)


def test_a_short_scf_is_rescued_by_restarting_from_its_wavefunction(tmp_path: Path) -> None:
    reference = _labeller(tmp_path / "ref", max_scf=200).label(li_water())
    assert reference.ok and reference.scf_steps is not None and reference.scf_steps > 8
    result = _labeller(tmp_path / "short", max_scf=8).label(li_water())
    assert [(a.rung, a.failure) for a in result.attempts] == [
        ("initial", "scf_not_converged"),
        ("restart", None),
    ]
    assert result.ok and result.energy_eV is not None
    # both converged to EPS_SCF 1e-6, from different starts
    assert result.energy_eV == pytest.approx(reference.energy_eV, abs=1e-4)
    restart_input = Path(result.directory, "attempt-2", "label.inp").read_text()
    assert "SCF_GUESS RESTART" in restart_input and "guess.wfn" in restart_input


def test_when_no_rung_converges_the_frame_fails_without_numbers(tmp_path: Path) -> None:
    result = _labeller(tmp_path, max_scf=1).label(li_water())
    assert [a.rung for a in result.attempts] == ["initial", "restart", "robust"]
    assert all(a.failure == "scf_not_converged" for a in result.attempts)
    assert not result.ok and result.failure == "scf_not_converged"
    assert result.energy_eV is None and result.forces_eV_per_A is None
    robust = Path(result.directory, "attempt-3", "label.inp").read_text()
    assert "MAX_SCF 2\n" in robust and "MINIMIZER CG\n" in robust  # twice the steps, CG
    # the answer is stored: asking again does not run CP2K
    marker = tmp_path / "ran"
    spy = wrapper(tmp_path, "spy-cp2k", f'touch {marker}; exec CP2K "$@"')
    again = _labeller(tmp_path, binary=str(spy), max_scf=1).label(li_water())
    assert again == result and not marker.exists()


def test_a_neighbouring_frame_starts_from_the_converged_wavefunction(tmp_path: Path) -> None:
    labeller = _labeller(tmp_path)
    first = labeller.label(li_water())
    moved = li_water()
    moved.positions += np.random.default_rng(0).normal(0.0, 0.02, moved.positions.shape)
    second = labeller.label(moved)
    assert first.ok and second.ok and first.scf_steps and second.scf_steps
    assert first.wfn_guess_from is None
    assert second.wfn_guess_from == first.directory
    assert second.wfn_guess_rmsd_A is not None and 0.02 < second.wfn_guess_rmsd_A < 0.05
    assert second.scf_steps < first.scf_steps
    assert second.scf_steps_saved == first.scf_steps - second.scf_steps
    # a different composition never reuses it
    other = labeller.label(li_water(1))
    assert other.ok and other.wfn_guess_from is None
