"""A grade that cannot fail is not given: what a run cannot measure says so instead, and a
run that broke is not graded at all."""

from __future__ import annotations

import itertools
from typing import get_args

import numpy as np
import pytest
from ase import Atoms

from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.flags.checker import FlagChecker, breaks_run, broken_run, first_break
from wise_al.observables.registry import THRESHOLD_SETS, ThresholdSet
from wise_al.observables.scores import (
    EXPERIMENTAL_FIRST_PEAK_PER_A,
    THRESHOLDS,
    metric_values,
    not_measurable,
    score_report,
)
from wise_al.observables.structure_factor import smallest_wave_vector_per_A

MEASURED = {"density_g_per_cm3": 1.75, "sq_r_factor": 0.1, "sq_min_q_per_A": 0.2}


def test_the_experimental_first_peak_is_near_one_inverse_angstrom() -> None:
    # the 21 m LiTFSI X-ray S(q) (Zhang et al.) peaks first at ~1.0 Å⁻¹, anion-anion order
    assert 0.95 < EXPERIMENTAL_FIRST_PEAK_PER_A < 1.1


def test_an_nvt_density_is_not_graded_and_an_npt_one_is() -> None:
    nvt = {s["metric"]: s for s in score_report({**MEASURED, "density_ensemble": "NVT"})}
    assert nvt["density_error_percent"]["grade"] == "not measurable"
    assert nvt["density_error_percent"]["value"] is None
    assert "NVT run keeps the density" in nvt["density_error_percent"]["reason"]
    npt = {s["metric"]: s for s in score_report({**MEASURED, "density_ensemble": "NPT"})}
    assert npt["density_error_percent"]["value"] == pytest.approx(100 * (1.75 / 1.7126 - 1))
    assert npt["density_error_percent"]["grade"] in ("good", "fair", "bad")
    assert "density_error_percent" in not_measurable({"density_g_per_cm3": 1.7})  # unknown


@pytest.mark.parametrize(
    ("side_A", "graded"), [(30.0, True), (20.0, True), (18.0, False), (8.6, False)]
)
def test_sq_is_graded_only_when_the_cell_samples_below_the_first_peak(
    side_A: float, graded: bool
) -> None:
    q_min = smallest_wave_vector_per_A([Atoms("H", cell=[side_A] * 3, pbc=True)])
    assert q_min == pytest.approx(2 * np.pi / side_A)  # the analytic cubic case
    report = {**MEASURED, "density_ensemble": "NPT", "sq_min_q_per_A": q_min}
    rows = {s["metric"]: s for s in score_report(report)}
    assert (rows["sq_r_factor"]["value"] is not None) == graded
    if not graded:
        assert "fewer than 3 below the experimental first peak" in rows["sq_r_factor"]["reason"]
    assert set(rows) <= set(THRESHOLDS)


def test_the_smallest_wave_vector_of_a_skewed_cell_is_its_shortest_lattice_vector() -> None:
    # a combination of b1 and b2 is shorter than every basis vector (0.95 vs 1.26 Å⁻¹)
    cell = np.array([[7.0, 0, 0], [6.0, 3.0, 0], [0, 0, 5.0]])
    reciprocal = 2 * np.pi * np.linalg.inv(cell).T  # rows: b_i with a_i . b_j = 2π δ_ij
    lattice = [
        np.linalg.norm(np.array(n) @ reciprocal)
        for n in itertools.product(range(-4, 5), repeat=3)
        if any(n)
    ]
    assert min(lattice) < min(np.linalg.norm(reciprocal, axis=1)) - 1e-6
    found = smallest_wave_vector_per_A([Atoms("H", cell=cell, pbc=True)])
    assert found == pytest.approx(min(lattice))
    # over frames: the largest minimum, since every frame must sample the wave vector
    frames = [Atoms("H", cell=[s] * 3, pbc=True) for s in (9.0, 8.0)]
    assert smallest_wave_vector_per_A(frames) == pytest.approx(2 * np.pi / 8.0)


def test_each_grade_names_its_threshold_set() -> None:
    assert set(get_args(ThresholdSet)) == set(THRESHOLD_SETS)
    report = {**MEASURED, "density_ensemble": "NPT", "sq_r_factor": 0.1}
    announced = {s["metric"]: s for s in score_report(report)}
    today = {s["metric"]: s for s in score_report(report, "ml-peg-metrics")}
    # R = 0.1 is fair against 0.02 / 0.21 and fair against 0 / 0.5, with other scores
    assert (announced["sq_r_factor"]["good"], announced["sq_r_factor"]["bad"]) == (0.02, 0.21)
    assert (today["sq_r_factor"]["good"], today["sq_r_factor"]["bad"]) == (0.0, 0.5)
    assert today["sq_r_factor"]["score"] == pytest.approx(0.8)
    assert announced["sq_r_factor"]["score"] == pytest.approx((0.21 - 0.1) / 0.19)
    assert {s["thresholds"] for s in today.values()} == {"ml-peg-metrics"}


def _li_pair_in_water(separation_A: float, step: int) -> Atoms:
    water = [("O", (5.0, 8.0, 5.0)), ("H", (5.76, 8.59, 5.0)), ("H", (4.24, 8.59, 5.0))]
    atoms = Atoms(
        [s for s, _ in water] + ["Li", "Li"],
        positions=[p for _, p in water] + [(3.0, 3.0, 5.0), (3.0 + separation_A, 3.0, 5.0)],
        cell=[12.0] * 3,
        pbc=True,
    )
    atoms.info["step"] = step
    return atoms


def test_a_run_breaks_at_its_first_li_li_contact_and_is_not_graded() -> None:
    frames = [_li_pair_in_water(d, 20 * k) for k, d in enumerate((5.0, 4.0, 2.0, 0.9))]
    # a wide Li-Li limit flags every frame (selection wants them); only a contact breaks
    checker = FlagChecker(FlagsSpec(min_distance_A={"Li-Li": 8.0}), frames[0], None)
    assert all(checker.check(f) for f in frames)
    broken = [any(breaks_run(flag, f) for flag in checker.check(f)) for f in frames]
    assert broken == [False, False, True, True]
    step, reason = first_break(frames, checker) or (None, "")
    assert step == 40 and "Li 3 and Li 4 are 2.00 Å apart" in reason
    assert first_break(frames[:2], checker) is None
    report = {**MEASURED, "density_ensemble": "NPT", **broken_run(frames, checker)}
    rows = score_report(report)
    assert {r["metric"] for r in rows} == set(THRESHOLDS)
    assert all(r["grade"] == "not graded" and r["value"] is None for r in rows)
    assert rows[0]["reason"].startswith("the run broke at step 40 (Li 3 and Li 4")
    assert metric_values(report) == {}  # no stopping rule can be met by a broken run
