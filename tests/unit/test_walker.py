"""Exploration walkers: real MD on a real MACE committee, annotated frames, early stop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read
from ase.md.velocitydistribution import thermalize_momenta

from tests.support.mace_models import DATA
from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.exploration.walker import WalkerParameters, run_walker
from wise_al.flags import FlagChecker
from wise_al.mace.committee import Committee
from wise_al.processes import Stopped
from wise_al.systems.cells import pack_cell
from wise_al.uncertainty import frame_deviation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def committee(tiny_committee_paths: list[Path]) -> Committee:
    return Committee(tiny_committee_paths)


@pytest.fixture(scope="module")
def cluster() -> Atoms:
    atoms = read(DATA, 0)
    assert isinstance(atoms, Atoms)
    return atoms


def test_nvt_walker_saves_annotated_frames(
    committee: Committee, cluster: Atoms, tmp_path: Path
) -> None:
    trajectory = tmp_path / "walker.extxyz"
    settings = WalkerParameters(
        temperature_K=300, steps=60, save_interval_steps=20, seed=3, early_stop_on_flags=False
    )
    result = run_walker(
        cluster, committee, settings, FlagChecker(FlagsSpec(), cluster, 300), trajectory
    )
    assert [f.step for f in result.frames] == [20, 40, 60]
    assert result.steps_done == 60 and not result.stopped_early
    saved = read(trajectory, ":")
    assert isinstance(saved, list) and len(saved) == 3
    for frame, atoms in zip(result.frames, saved, strict=True):
        assert atoms.info["md_step"] == frame.step
        assert "REF_energy" not in atoms.info  # the start's label does not describe MD frames
        assert json.loads(atoms.info["flags"]) == [f.to_dict() for f in frame.flags]
        # the stored deviation is the committee's on exactly these positions
        prediction = committee.predict([atoms])
        again = frame_deviation(prediction.energies_eV[:, 0], prediction.forces_eV_per_A[0])
        assert atoms.info["max_deviation_eV_per_A"] == pytest.approx(again.max_eV_per_A, rel=1e-6)
        np.testing.assert_allclose(
            atoms.arrays["atom_deviation_eV_per_A"], again.atom_eV_per_A, rtol=1e-6
        )
        assert atoms.info["frame_class"] == str(frame.frame_class)
    assert not np.allclose(saved[0].positions, cluster.positions)  # the atoms moved


def test_same_seed_same_trajectory(committee: Committee, cluster: Atoms) -> None:
    settings = WalkerParameters(temperature_K=300, steps=20, save_interval_steps=10, seed=9)
    checker = FlagChecker(FlagsSpec(), cluster, 300)
    a = run_walker(cluster, committee, settings, checker)
    b = run_walker(cluster, committee, settings, checker)
    np.testing.assert_array_equal(a.frames[-1].atoms.positions, b.frames[-1].atoms.positions)


def test_an_unphysical_frame_stops_the_walker_and_is_kept(
    committee: Committee, cluster: Atoms, tmp_path: Path
) -> None:
    hot = cluster.copy()
    thermalize_momenta(hot, 5000, rng=np.random.default_rng(0))  # far above 2 x 300 K
    trajectory = tmp_path / "hot.extxyz"
    settings = WalkerParameters(temperature_K=300, steps=500, save_interval_steps=5, seed=1)
    result = run_walker(
        hot, committee, settings, FlagChecker(FlagsSpec(), cluster, 300), trajectory
    )
    assert result.stopped_early and result.steps_done < 500
    assert result.frames[-1].unphysical
    assert "temperature" in {f.kind for f in result.frames[-1].flags}
    assert result.stop_reason is not None and "temperature" in result.stop_reason
    assert len(read(trajectory, ":")) == len(result.frames)  # the frame that shows it is kept


def test_npt_changes_the_cell(committee: Committee) -> None:
    box = pack_cell({"Li+": 1, "H2O": 6}, density_g_per_cm3=1.0, seed=1)
    settings = WalkerParameters(
        temperature_K=300,
        steps=20,
        save_interval_steps=10,
        ensemble="NPT",
        early_stop_on_flags=False,
    )
    result = run_walker(box, committee, settings, FlagChecker(FlagsSpec(), box, 300))
    assert len(result.frames) == 2
    assert result.frames[-1].atoms.get_volume() != pytest.approx(box.get_volume(), rel=1e-9)


def test_a_stop_request_ends_the_walker_at_the_next_saved_frame(
    committee: Committee, cluster: Atoms, tmp_path: Path
) -> None:
    asked: list[int] = []

    def stop_on_third_question() -> bool:
        asked.append(1)
        return len(asked) >= 3

    settings = WalkerParameters(
        temperature_K=300, steps=10_000, save_interval_steps=10, seed=3, early_stop_on_flags=False
    )
    checker = FlagChecker(FlagsSpec(), cluster, 300)
    with pytest.raises(Stopped, match="step 20"):  # asked at steps 0, 10, 20
        run_walker(
            cluster,
            committee,
            settings,
            checker,
            tmp_path / "w.extxyz",
            should_stop=stop_on_third_question,
        )


def test_a_walker_takes_every_exploration_setting_of_its_spec_and_a_scaled_window() -> None:
    from dataclasses import fields

    from tests.support.factories import example_spec
    from wise_al.campaign_spec import parse_spec

    spec = parse_spec(example_spec("demo"))
    walker = WalkerParameters.from_spec(
        spec.exploration, spec.uncertainty, temperature_K=350.0, pressure_bar=2.0, steps=40,
        seed=7, sigma_scale=2.0,
    )  # fmt: skip
    shared = {f.name for f in fields(WalkerParameters)} & set(type(spec.exploration).model_fields)
    assert {"timestep_fs", "ensemble", "driver", "dispersion", "friction_per_fs"} <= shared
    assert all(getattr(walker, name) == getattr(spec.exploration, name) for name in shared)
    assert (walker.temperature_K, walker.pressure_bar, walker.steps, walker.seed) == (
        350.0, 2.0, 40, 7,
    )  # fmt: skip
    # σ·s against the window: a scale of 2 halves its edges
    assert walker.trust_lo_eV_per_A == spec.uncertainty.trust_lo_eV_per_A / 2
    assert walker.trust_hi_eV_per_A == spec.uncertainty.trust_hi_eV_per_A / 2
