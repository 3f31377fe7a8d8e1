"""Label stresses are ``(1/V) dE/dstrain``: checked against finite differences of energies.

One thread per CP2K: the suite runs three tests side by side on two cores, where OpenMP
threads waiting on each other cost more than they gain.

CP2K prints its stress with compression positive; ASE and MACE use the opposite sign. The
independent computation here is CP2K's own energy under small strains: a central difference
``(E(+d) - E(-d)) / (2 d V)`` along a strain direction ``e`` equals ``sum(stress * e)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from tests.support.cp2k_fixtures import needs_cp2k
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.run import LaunchProfile
from wise_al.systems.cells import pack_cell

pytestmark = [needs_cp2k, pytest.mark.slow]

STRAIN = 0.002  # 0.2 %: small enough to stay linear, large enough to beat SCF noise
ISOTROPIC = np.eye(3)


def _shear(i: int, j: int) -> np.ndarray:
    """A symmetric shear strain direction coupling axes ``i`` and ``j``."""
    unit = np.eye(3)
    return (np.outer(unit[i], unit[j]) + np.outer(unit[j], unit[i])) / 2


def _strained(atoms: Atoms, strain: np.ndarray) -> Atoms:
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + strain), scale_atoms=True)
    return out


def _check_against_finite_differences(labeller: Labeller, atoms: Atoms, shear: np.ndarray) -> None:
    result = labeller.label(atoms)
    assert result.ok and result.stress_eV_per_A3 is not None, result.attempts
    assert result.stress_convention == "dE_dstrain"
    stress = np.array(result.stress_eV_per_A3)
    volume = atoms.get_volume()
    for direction in (ISOTROPIC, shear):
        plus = labeller.label(_strained(atoms, STRAIN * direction)).energy_eV
        minus = labeller.label(_strained(atoms, -STRAIN * direction)).energy_eV
        assert plus is not None and minus is not None
        finite_difference = (plus - minus) / (2 * STRAIN * volume)
        analytic = float(np.sum(stress * direction))
        assert abs(finite_difference) > 1e-3  # a real signal, not two zeros agreeing
        assert analytic == pytest.approx(finite_difference, rel=0.03)


def test_xtb_stress_is_the_strain_derivative_of_the_energy(tmp_path: Path) -> None:
    cell = pack_cell({"LiTFSI": 1, "H2O": 3}, seed=1)  # 25 atoms, dense, neutral
    spec = LabellingSpec(eps_scf=1e-9, max_scf=200)
    labeller = Labeller(spec, detect(), LaunchProfile(), tmp_path)
    _check_against_finite_differences(labeller, cell, _shear(0, 1))


def test_gpw_stress_is_the_strain_derivative_of_the_energy(tmp_path: Path) -> None:
    water = molecule("H2O")
    water.cell = [3.6, 3.8, 4.0]  # a tight orthorhombic box: a stress well above noise
    water.center()
    water.pbc = True
    water.rattle(0.02, seed=1)  # off-symmetry, so the shear component is not zero
    # the minimal basis: the convention is the same for any basis, at a seventh of the cost
    spec = LabellingSpec(
        method="dft", basis="SZV-MOLOPT-SR-GTH", cutoff_Ry=250, eps_scf=1e-9, max_scf=200
    )
    labeller = Labeller(spec, detect(), LaunchProfile(), tmp_path)
    _check_against_finite_differences(labeller, water, _shear(1, 2))
