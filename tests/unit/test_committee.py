"""A committee of real MACE models: agrees with mace's own calculator, batches, refuses."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms, units
from ase.io import read
from ase.md.verlet import VelocityVerlet

from tests.support.mace_models import DATA
from wise_al.errors import WiseAlError
from wise_al.mace.calculator import CommitteeCalculator
from wise_al.mace.committee import Committee
from wise_al.uncertainty import frame_deviation


@pytest.fixture(scope="module")
def frames() -> list[Atoms]:
    loaded = read(DATA, ":6")
    assert isinstance(loaded, list)
    return loaded


@pytest.fixture(scope="module")
def committee(tiny_committee_paths: list[Path]) -> Committee:
    return Committee(tiny_committee_paths)


def test_matches_mace_own_committee_calculator(
    committee: Committee, tiny_committee_paths: list[Path], frames: list[Atoms]
) -> None:
    from mace.calculators import MACECalculator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = MACECalculator(
            model_paths=[str(p) for p in tiny_committee_paths],
            device="cpu",
            default_dtype="float64",
        )
    prediction = committee.predict(frames)
    for k, atoms in enumerate(frames):
        atoms = atoms.copy()
        atoms.calc = reference
        atoms.get_potential_energy()
        np.testing.assert_allclose(
            prediction.energies_eV[:, k], reference.results["energy_comm"], atol=1e-9
        )
        np.testing.assert_allclose(
            prediction.forces_eV_per_A[k], reference.results["forces_comm"], atol=1e-9
        )


def test_members_disagree_and_deviation_follows(committee: Committee, frames: list[Atoms]) -> None:
    prediction = committee.predict(frames[:1])
    forces = prediction.forces_eV_per_A[0]
    assert forces.shape == (2, len(frames[0]), 3)
    deviation = frame_deviation(prediction.energies_eV[:, 0], forces)
    # two members: σ_i is half the distance between their force vectors
    half_gap = np.linalg.norm(forces[0] - forces[1], axis=1) / 2
    np.testing.assert_allclose(deviation.atom_eV_per_A, half_gap, rtol=1e-12)
    assert deviation.max_eV_per_A > 0


def test_a_batch_equals_frame_by_frame(committee: Committee, frames: list[Atoms]) -> None:
    batch = committee.predict(frames)
    for k, atoms in enumerate(frames):
        single = committee.predict([atoms])
        np.testing.assert_allclose(batch.forces_eV_per_A[k], single.forces_eV_per_A[0], atol=1e-10)


def test_float32_is_close_to_float64(tiny_committee_paths: list[Path], frames: list[Atoms]) -> None:
    fast = Committee(tiny_committee_paths, dtype="float32").predict(frames[:2])
    exact = Committee(tiny_committee_paths).predict(frames[:2])
    np.testing.assert_allclose(fast.forces_eV_per_A[0], exact.forces_eV_per_A[0], atol=1e-3)


def test_unknown_elements_and_bad_files_are_clear(
    committee: Committee, tiny_committee_paths: list[Path], tmp_path: Path
) -> None:
    with pytest.raises(WiseAlError, match=r"contain \[16\]"):
        committee.predict([Atoms("S", positions=[[0, 0, 0]])])
    nan_frame = read(DATA, 0)
    assert isinstance(nan_frame, Atoms)
    nan_frame.positions[0, 0] = np.nan
    with pytest.raises(WiseAlError, match="NaN"):
        committee.predict([nan_frame])
    junk = tmp_path / "junk.model"
    junk.write_text("not a model")
    with pytest.raises(WiseAlError, match="not a MACE model file"):
        Committee([tiny_committee_paths[0], junk])
    with pytest.raises(WiseAlError, match="at least 2 models"):
        Committee(tiny_committee_paths[:1])


def test_md_on_the_committee_mean_conserves_energy(
    committee: Committee, frames: list[Atoms]
) -> None:
    atoms = frames[0].copy()
    atoms.calc = CommitteeCalculator(committee)
    dyn = VelocityVerlet(atoms, timestep=0.1 * units.fs)
    start = atoms.get_total_energy()
    dyn.run(20)
    assert abs(atoms.get_total_energy() - start) < 0.01
    forces = atoms.calc.results["committee_forces"]
    np.testing.assert_allclose(atoms.get_forces(), forces.mean(axis=0))


def test_descriptors_are_per_frame_and_invariant(committee: Committee, frames: list[Atoms]) -> None:
    descriptors = committee.descriptors(frames)
    assert descriptors.shape[0] == len(frames) and np.isfinite(descriptors).all()
    rotated = frames[0].copy()
    rotated.rotate(37, "z", center="COM")
    np.testing.assert_allclose(committee.descriptors([rotated])[0], descriptors[0], atol=1e-8)
    assert not np.allclose(descriptors[0], descriptors[1])
