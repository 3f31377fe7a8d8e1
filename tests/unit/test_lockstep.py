"""Lockstep walkers: one batched committee pass per step, same physics as one at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read
from ase.md.velocitydistribution import thermalize_momenta

from tests.support.mace_models import DATA
from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.exploration.lockstep import run_walkers_lockstep
from wise_al.exploration.walker import WalkerParameters
from wise_al.flags import FlagChecker
from wise_al.mace.committee import Committee

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def committee(tiny_committee_paths: list[Path]) -> Committee:
    return Committee(tiny_committee_paths)


@pytest.fixture(scope="module")
def starts() -> list[Atoms]:
    frames = read(DATA, ":3")
    assert isinstance(frames, list)
    return frames


def _settings(seed: int, temperature_K: float = 300.0) -> WalkerParameters:
    return WalkerParameters(
        temperature_K=temperature_K,
        steps=30,
        save_interval_steps=10,
        seed=seed,
        early_stop_on_flags=False,
    )


def test_batched_walkers_follow_the_same_trajectories_as_alone(
    committee: Committee, starts: list[Atoms]
) -> None:
    settings = [_settings(seed) for seed in range(3)]
    checkers = [FlagChecker(FlagsSpec(), a, 300.0) for a in starts]
    together = run_walkers_lockstep(starts, committee, settings, checkers)
    for k in range(3):
        (alone,) = run_walkers_lockstep([starts[k]], committee, [settings[k]], [checkers[k]])
        assert (
            [f.step for f in alone.frames] == [f.step for f in together[k].frames] == [10, 20, 30]
        )
        np.testing.assert_allclose(
            together[k].frames[-1].atoms.positions, alone.frames[-1].atoms.positions, atol=1e-8
        )
        assert together[k].frames[-1].deviation.max_eV_per_A == pytest.approx(
            alone.frames[-1].deviation.max_eV_per_A, rel=1e-8
        )
    assert not np.allclose(together[0].frames[-1].atoms.positions, starts[0].positions)


def test_a_stopped_walker_leaves_the_batch_and_the_others_go_on(
    committee: Committee, starts: list[Atoms], tmp_path: Path
) -> None:
    hot = starts[0].copy()
    thermalize_momenta(hot, 6000, rng=np.random.default_rng(0))
    settings = [
        WalkerParameters(temperature_K=300, steps=30, save_interval_steps=10, seed=0),
        WalkerParameters(
            temperature_K=300, steps=30, save_interval_steps=10, seed=1, early_stop_on_flags=False
        ),
    ]
    checkers = [FlagChecker(FlagsSpec(), a, 300.0) for a in (starts[0], starts[1])]
    paths: list[Path | None] = [tmp_path / "hot.extxyz", tmp_path / "calm.extxyz"]
    hot_result, calm = run_walkers_lockstep([hot, starts[1]], committee, settings, checkers, paths)
    assert hot_result.stopped_early and hot_result.frames[-1].unphysical
    assert calm.steps_done == 30 and len(calm.frames) == 3
    assert len(read(tmp_path / "calm.extxyz", ":")) == 3


def test_mismatched_schedules_are_refused(committee: Committee, starts: list[Atoms]) -> None:
    settings = [_settings(0), WalkerParameters(temperature_K=300, steps=40, seed=1)]
    checkers = [FlagChecker(FlagsSpec(), a) for a in starts[:2]]
    with pytest.raises(ValueError, match="share timestep"):
        run_walkers_lockstep(starts[:2], committee, settings, checkers)


def test_member_driven_lockstep_is_the_single_model_run_judged_on_saved_frames(
    committee: Committee, tiny_committee_paths: list[Path], starts: list[Atoms]
) -> None:
    from dataclasses import replace

    from wise_al.uncertainty import frame_deviation

    settings = [replace(_settings(seed), driver="member") for seed in range(2)]
    checkers = [FlagChecker(FlagsSpec(), a, 300.0) for a in starts[:2]]
    judged = run_walkers_lockstep(starts[:2], committee, settings, checkers)
    single = Committee(tiny_committee_paths[:1], min_members=1)
    alone = run_walkers_lockstep(starts[:2], single, settings, checkers)
    for ours, theirs in zip(judged, alone, strict=True):
        for frame, reference in zip(ours.frames, theirs.frames, strict=True):
            np.testing.assert_array_equal(frame.atoms.positions, reference.atoms.positions)
            prediction = committee.predict([frame.atoms])
            full = frame_deviation(prediction.energies_eV[:, 0], prediction.forces_eV_per_A[0])
            assert frame.deviation.max_eV_per_A == pytest.approx(full.max_eV_per_A, rel=1e-10)
