"""Stress is really learned when the spec weights it, in the convention of the labels.

The labels are xTB water cells under compression and expansion (pressures of both signs,
tests/data/water_stress_xtb.extxyz). Independent checks: the held-out labels' pressures, and
a finite difference of the trained model's own energy under strain (MACE's stress convention
must be the labels' ``(1/V) dE/dstrain`` too, or the fit would learn an inverted pressure).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.mace_models import STRESS_DATA
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.campaign_spec.model import TrainingSpec
from wise_al.cp2k.e0s import reference_energies
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.run import LaunchProfile
from wise_al.mace.committee import Committee
from wise_al.mace.fit import fit_committee

pytestmark = [needs_cp2k, pytest.mark.slow]

STRESSED = TrainingSpec(
    max_num_epochs=40, batch_size=4, valid_fraction=0.15, test_fraction=0.25,
    energy_weight=1.0, forces_weight=10.0, stress_weight=100.0,
    num_channels=16, max_L=0, r_max_A=4.0, correlation=2,
)  # fmt: skip


def _pressure_GPa(stress_eV_per_A3: np.ndarray) -> float:
    return float(-np.trace(np.reshape(stress_eV_per_A3, (3, 3))) / 3 * 160.21766)


def _model_energy(committee: Committee, atoms: Atoms) -> float:
    return float(committee.predict([atoms]).energies_eV[0, 0])


def test_a_stress_weighted_model_predicts_the_labels_pressure(tmp_path: Path) -> None:
    frames = read(STRESS_DATA, ":")
    assert isinstance(frames, list)
    labeller = Labeller(LabellingSpec(), detect(), LaunchProfile(), tmp_path / "e0s")
    e0s = reference_energies(labeller, ["H", "O"])
    fitted = fit_committee(frames, "from_scratch", 1, STRESSED, e0s, tmp_path / "fit")
    member = fitted.manifest["members"][0]
    assert member["training_run"]["loss"] == "stress" and member["training_run"]["stress_trained"]
    assert "--loss=stress" in member["mace_arguments"]
    assert "--stress_weight=100.0" in member["mace_arguments"]
    assert member["errors"]["test"]["stress_rmse_GPa"] is not None

    test = read(tmp_path / "fit" / "data" / "test.extxyz", ":")
    assert isinstance(test, list) and len(test) >= 4
    committee = Committee(fitted.model_files, min_members=1)
    predicted = committee.predict(test, compute_stress=True).stress_eV_per_A3
    assert predicted is not None
    labels = np.array([_pressure_GPa(a.info["REF_stress"]) for a in test])
    model = np.array([_pressure_GPa(s) for s in predicted[0]])
    assert (labels > 0).any() and (labels < 0).any()  # compressed and expanded cells held out
    clear = np.abs(labels) > 2.0
    assert clear.any()
    assert np.all(np.sign(model[clear]) == np.sign(labels[clear])), (labels, model)
    assert np.corrcoef(labels, model)[0, 1] > 0.8, (labels, model)
    assert np.abs(model - labels).mean() < 0.5 * np.abs(labels).mean(), (labels, model)

    # MACE's stress is (1/V) dE/dstrain of its own energy, like the labels
    atoms, strain = test[0], 1e-4
    stress = np.reshape(predicted[0, 0], (3, 3))
    for direction in (
        np.eye(3),
        (np.outer([1, 0, 0], [0, 1, 0]) + np.outer([0, 1, 0], [1, 0, 0])) / 2,
    ):
        energies = []
        for sign in (1, -1):
            strained = atoms.copy()
            strained.set_cell(
                np.asarray(atoms.cell) @ (np.eye(3) + sign * strain * direction), scale_atoms=True
            )
            energies.append(_model_energy(committee, strained))
        finite_difference = (energies[0] - energies[1]) / (2 * strain * atoms.get_volume())
        assert float(np.sum(stress * direction)) == pytest.approx(
            finite_difference, rel=1e-3, abs=1e-6
        )
