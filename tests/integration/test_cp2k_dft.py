"""A real PBE label (GPW, DZVP-MOLOPT-SR-GTH, 300 Ry) agrees with ASE's CP2K calculator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.cp2k_fixtures import li_water, needs_cp2k
from tests.support.cp2k_reference import ase_single_point
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.input import build_input
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.run import LaunchProfile

pytestmark = [needs_cp2k, pytest.mark.slow]


def test_pbe_label_matches_ase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    atoms = li_water(1, side_A=8.0)  # Li+ and 3 waters: 10 atoms, charge +1
    assert len(atoms) == 10
    spec = LabellingSpec(method="dft", cutoff_Ry=300, eps_scf=1e-8, max_scf=200)
    labeller = Labeller(spec, detect(), LaunchProfile(), tmp_path / "labels")
    result = labeller.label(atoms)
    assert result.ok, result.attempts
    record = dict(result.level_of_theory)
    files = record.pop("data_files_sha256")
    assert set(files) == {"BASIS_MOLOPT", "BASIS_MOLOPT_UZH", "GTH_POTENTIALS"}
    assert len(record.pop("code_build")) == 16
    assert record == {
        "code": "CP2K",
        "code_version": "2023.1",
        "method": "GPW-DFT",
        "eps_scf": 1e-8,
        "cp2k_overrides": {},
        "functional": "PBE",
        "dispersion": "none",
        "cutoff_Ry": 300.0,
        "rel_cutoff_Ry": 60.0,
        "basis": {"H": "DZVP-MOLOPT-SR-GTH", "Li": "DZVP-MOLOPT-SR-GTH", "O": "DZVP-MOLOPT-SR-GTH"},
        "pseudopotential": {"H": "GTH-PBE-q1", "Li": "GTH-PBE-q3", "O": "GTH-PBE-q6"},
    }
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one thread: tests share the cores
    energy, forces = ase_single_point(atoms, build_input(spec, atoms), tmp_path / "ase")
    assert result.energy_eV == pytest.approx(energy, abs=1e-6)
    np.testing.assert_allclose(np.array(result.forces_eV_per_A), forces, atol=1e-5)
    assert result.stress_eV_per_A3 is not None
    assert np.allclose(result.stress_eV_per_A3, np.transpose(result.stress_eV_per_A3), atol=1e-8)
