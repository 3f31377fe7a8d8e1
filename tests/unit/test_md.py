"""Production MD and member-driven MD: real tiny MACE models, real ASE integrators.

Conventions checked against independent computations: the frame's pressure against a
finite difference of the model's energy under isotropic strain; D3 forces and stress
against finite differences of the summed energy.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms, units
from ase.io import read

from tests.support.mace_models import DATA
from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.errors import WiseAlError
from wise_al.exploration.walker import WalkerParameters, run_walker
from wise_al.flags import FlagChecker
from wise_al.mace.calculator import CommitteeCalculator
from wise_al.mace.committee import Committee, CommitteePrediction
from wise_al.md.dispersion import add_dispersion
from wise_al.md.parameters import ProductionParameters
from wise_al.md.production import run_production
from wise_al.observables.convergence import block_average
from wise_al.systems.cells import pack_cell
from wise_al.uncertainty import frame_deviation

pytestmark = pytest.mark.slow


class CountingCommittee(Committee):
    """The real committee, recording which members each pass evaluated."""

    passes: list[int]

    def predict(self, frames, compute_stress=False, members=None) -> CommitteePrediction:
        self.passes.append(len(self) if members is None else len(members))
        return super().predict(frames, compute_stress=compute_stress, members=members)


@pytest.fixture(scope="module")
def cluster() -> Atoms:
    atoms = read(DATA, 0)
    assert isinstance(atoms, Atoms)
    return atoms


@pytest.fixture(scope="module")
def water_box() -> Atoms:
    return pack_cell({"H2O": 16}, density_g_per_cm3=1.0, seed=0)


def test_member_driven_md_is_the_single_model_run_judged_on_saved_frames(
    tiny_committee_paths: list[Path], cluster: Atoms
) -> None:
    committee = CountingCommittee(tiny_committee_paths)
    committee.passes = []
    single = Committee(tiny_committee_paths[:1], min_members=1)
    settings = WalkerParameters(
        temperature_K=300, steps=40, save_interval_steps=10, seed=2, early_stop_on_flags=False
    )
    checker = FlagChecker(FlagsSpec(), cluster, 300)
    judged = run_walker(
        cluster, committee, settings.__class__(**{**settings.__dict__, "driver": "member"}), checker
    )
    alone = run_walker(cluster, single, settings, checker)
    for ours, theirs in zip(judged.frames, alone.frames, strict=True):
        np.testing.assert_array_equal(ours.atoms.positions, theirs.atoms.positions)
        prediction = Committee(tiny_committee_paths).predict([ours.atoms])
        full = frame_deviation(prediction.energies_eV[:, 0], prediction.forces_eV_per_A[0])
        assert ours.deviation.max_eV_per_A == pytest.approx(full.max_eV_per_A, rel=1e-10)
        assert ours.deviation.max_eV_per_A > 0
    # one model per step (41 evaluations: step 0 and 40 steps), the other member on 4 frames
    assert committee.passes.count(1) == 41 + 4 and 2 not in committee.passes


def _npt(tdamp_fs: float = 25.0, pdamp_fs: float = 50.0, steps: int = 1200) -> ProductionParameters:
    return ProductionParameters(
        ensemble="NPT",
        temperature_K=300.0,
        pressure_bar=1000.0,
        steps=steps,
        save_interval_steps=10,
        checkpoint_interval_steps=100,
        thermostat_damping_fs=tdamp_fs,
        barostat_damping_fs=pdamp_fs,
    )


def test_npt_mtk_volume_fluctuates_and_the_mean_pressure_meets_the_target(
    tiny_committee_paths: list[Path], water_box: Atoms, tmp_path: Path
) -> None:
    committee = Committee(tiny_committee_paths[:1], min_members=1)
    result = run_production(
        water_box, CommitteeCalculator(committee), _npt(), tmp_path, driven_by={"test": 1}
    )
    frames = read(result.trajectory, ":")
    assert isinstance(frames, list) and len(frames) == result.frames == 121
    assert [f.info["step"] for f in frames] == list(range(0, 1201, 10))
    volumes = np.array([f.info["volume_A3"] for f in frames])
    np.testing.assert_allclose(volumes, [f.get_volume() for f in frames], rtol=1e-6)
    assert volumes.std() / volumes.mean() > 0.01  # the cell breathes
    pressure = block_average([f.info["pressure_bar"] for f in frames[30:]], blocks=5)
    assert abs(pressure.mean - 1000.0) < 3 * pressure.stderr, pressure
    drift = np.ptp([f.info["conserved_energy_eV"] for f in frames])
    assert drift < 0.05  # MTK's conserved quantity (p V included) holds: units agree


def test_saved_pressure_is_minus_de_dv_plus_the_kinetic_term(
    tiny_committee_paths: list[Path], water_box: Atoms, tmp_path: Path
) -> None:
    committee = Committee(tiny_committee_paths[:1], min_members=1)
    result = run_production(
        water_box, CommitteeCalculator(committee), _npt(steps=20), tmp_path, driven_by={}
    )
    frame = read(result.trajectory, -1)
    assert isinstance(frame, Atoms)
    momenta = np.load(tmp_path / "checkpoint.npz")["momenta"]  # the state of that same step

    def energy(strain: float) -> float:
        atoms = frame.copy()
        atoms.set_cell(frame.cell * (1 + strain), scale_atoms=True)
        return float(committee.predict([atoms]).energies_eV[0, 0])

    h = 1e-5
    volume = frame.get_volume()
    de_dv = (energy(h) - energy(-h)) / (volume * ((1 + h) ** 3 - (1 - h) ** 3))
    masses = frame.get_masses()[:, None]
    kinetic_eV = 0.5 * float((momenta**2 / masses).sum())
    expected_bar = (-de_dv + 2 * kinetic_eV / (3 * volume)) / units.bar
    assert frame.info["pressure_bar"] == pytest.approx(expected_bar, rel=1e-4, abs=0.5)


def test_a_run_extends_and_refuses_other_parameters(
    tiny_committee_paths: list[Path], cluster: Atoms, tmp_path: Path
) -> None:
    committee = Committee(tiny_committee_paths)
    calc = CommitteeCalculator(committee, driver="member")
    short = ProductionParameters(steps=40, save_interval_steps=10, checkpoint_interval_steps=20)
    first = run_production(cluster, calc, short, tmp_path, driven_by={"m": "a"})
    assert (first.frames, first.resumed_from_step) == (5, None)
    longer = short.model_copy(update={"steps": 60})
    again = run_production(cluster, calc, longer, tmp_path, driven_by={"m": "a"})
    assert (again.frames, again.steps_done, again.resumed_from_step) == (7, 60, 40)
    frames = read(again.trajectory, ":")
    assert [f.info["step"] for f in frames] == [0, 10, 20, 30, 40, 50, 60]
    assert all(f.info["force_deviation_max_eV_per_A"] > 0 for f in frames)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["parameters"]["steps"] == 60 and record["driven_by"] == {"m": "a"}
    hotter = longer.model_copy(update={"temperature_K": 400.0})
    with pytest.raises(WiseAlError, match="temperature_K differ"):
        run_production(cluster, calc, hotter, tmp_path, driven_by={"m": "a"})
    with pytest.raises(WiseAlError, match="driven_by differs"):
        run_production(cluster, calc, longer, tmp_path, driven_by={"m": "b"})
    with pytest.raises(WiseAlError, match="already ran 60 steps"):
        run_production(cluster, calc, short, tmp_path, driven_by={"m": "a"})
    assert len(read(again.trajectory, ":")) == 7  # refused calls changed nothing
    assert json.loads((tmp_path / "run.json").read_text()) == record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"save_interval_steps": 30}, "multiple of save_interval_steps"),
        ({"steps": 5}, "no frame would be saved"),
        ({"ensemble": "NVE"}, "ensemble"),
        ({"temperature_K": float("nan")}, "temperature_K"),
    ],
)
def test_parameters_name_the_field_at_fault(change: dict[str, object], message: str) -> None:
    values = {"steps": 100, "save_interval_steps": 10, "checkpoint_interval_steps": 50} | change
    with pytest.raises(ValueError, match=message):
        ProductionParameters.model_validate(values)


def test_d3_at_md_time_forces_and_stress_are_derivatives_of_its_energy(
    tiny_committee_paths: list[Path], water_box: Atoms
) -> None:
    committee = Committee(tiny_committee_paths[:1], min_members=1)
    atoms = water_box.copy()
    atoms.calc = add_dispersion(CommitteeCalculator(committee), "d3bj", "pbe")
    plain = water_box.copy()
    plain.calc = CommitteeCalculator(committee)
    d3_eV = atoms.get_potential_energy() - plain.get_potential_energy()
    assert -2.0 < d3_eV < -0.1  # 16 waters: a few tenths of an eV of dispersion
    forces = atoms.get_forces()
    h = 1e-4
    for atom, axis in ((0, 0), (7, 2)):
        shifted = [atoms.copy(), atoms.copy()]
        for sign, copy in zip((1, -1), shifted, strict=True):
            copy.positions[atom, axis] += sign * h
            copy.calc = atoms.calc
        numeric = -(shifted[0].get_potential_energy() - shifted[1].get_potential_energy()) / (2 * h)
        assert forces[atom, axis] == pytest.approx(numeric, abs=1e-4)
    stress = atoms.get_stress(voigt=False)
    volume = atoms.get_volume()
    strained = []
    for sign in (1, -1):
        copy = atoms.copy()
        copy.set_cell(atoms.cell * (1 + sign * h), scale_atoms=True)
        copy.calc = atoms.calc
        strained.append(copy.get_potential_energy())
    # trace of the stress = (dE/d strain) / V for an isotropic strain
    assert np.trace(stress) == pytest.approx(
        (strained[0] - strained[1]) / (2 * h) / volume, rel=1e-3
    )


@pytest.mark.parametrize("steps", [1, 7, 25, 100, 1001])
def test_validation_runs_of_any_length_get_whole_intervals(steps: int) -> None:
    from tests.support.factories import example_spec, with_value
    from wise_al.campaign_spec import parse_spec
    from wise_al.jobs.validate import run_parameters

    validation = {"enabled": True, "save_interval_steps": 10, "checkpoint_interval_steps": 50}
    spec = parse_spec(with_value(example_spec(), "validation", validation))
    parameters = run_parameters(spec, steps)  # validated: a bad combination raises here
    assert parameters.steps == steps and parameters.save_interval_steps == min(10, steps)
    assert parameters.checkpoint_interval_steps % parameters.save_interval_steps == 0


def test_a_walker_with_d3_at_md_time_is_driven_by_it_and_judged_without_it(
    tiny_committee_paths: list[Path], water_box: Atoms
) -> None:
    """D3 moves the atoms (the trajectory differs from the plain one after the first step)
    but not the committee's deviation on a given frame: D3 is the same for every member."""
    from dftd3.ase import DFTD3

    committee = Committee(tiny_committee_paths)
    checker = FlagChecker(FlagsSpec(), water_box, 300)
    base = WalkerParameters(temperature_K=300, steps=2, save_interval_steps=1, seed=3)
    plain = run_walker(water_box, committee, base, checker)
    with_d3 = run_walker(water_box, committee, replace(base, dispersion="d3bj"), checker)
    first_plain, first_d3 = plain.frames[0].atoms, with_d3.frames[0].atoms
    d3 = water_box.copy()
    d3.calc = DFTD3(method="pbe", damping="d3bj")
    push = d3.get_forces() / water_box.get_masses()[:, None]
    # the same noise, one step: the two runs part along the D3 acceleration, F/m dt²/2
    apart = (first_d3.positions - first_plain.positions).ravel()
    cosine = apart @ push.ravel() / (np.linalg.norm(apart) * np.linalg.norm(push))
    assert np.linalg.norm(apart) > 1e-6 and cosine > 0.99
    # the deviation stored with a D3-driven frame is the committee's own on that frame
    prediction = committee.predict([first_d3])
    own = frame_deviation(prediction.energies_eV[:, 0], prediction.forces_eV_per_A[0])
    assert with_d3.frames[0].deviation.max_eV_per_A == pytest.approx(own.max_eV_per_A, rel=1e-9)
