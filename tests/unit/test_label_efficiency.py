"""The label-efficiency benchmark: statistics, baseline arms and truth sets, checked by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

from benchmarks.label_efficiency.arms import CommitteeState, first_labels, next_labels
from benchmarks.label_efficiency.endpoints import (
    SURVIVAL_LI_LI_A,
    fused_runs,
    li_li_push_eV_per_A,
)
from benchmarks.label_efficiency.pool import demo_first_labels
from benchmarks.label_efficiency.report import markdown, summarise
from benchmarks.label_efficiency.stats import kaplan_meier, labels_to_pass, log_rank, paired
from benchmarks.label_efficiency.truth import (
    CELL,
    held_out,
    packed_starts,
    pulled,
    reference_contacts,
)


def test_kaplan_meier_matches_the_product_limit_by_hand() -> None:
    # four seeds: contacts gone at 4 and 8 labels, two never (censored at 12)
    curve = kaplan_meier([(4, True), (8, True), (12, False), (12, False)])
    # S(4) = 3/4; S(8) = 3/4 * (1 - 1/3) = 1/2: the median is the first time S <= 1/2
    assert curve["labels"][:2] == [4.0, 8.0]
    assert curve["survival"][:2] == pytest.approx([0.75, 0.5])
    assert curve["median"] == 8.0
    assert curve["events"] == 2 and curve["seeds"] == 4
    assert all(
        lo <= s <= hi
        for lo, s, hi in zip(curve["low"], curve["survival"], curve["high"], strict=True)
    )


def test_kaplan_meier_without_any_event_has_no_median() -> None:
    curve = kaplan_meier([(64, False), (64, False)])
    assert curve["median"] is None and curve["events"] == 0


def test_log_rank_tells_apart_arms_that_differ_and_not_ones_that_do_not() -> None:
    early = [(4.0 * (1 + k % 3), True) for k in range(8)]
    late = [(60.0, True)] * 4 + [(64.0, False)] * 4
    p = log_rank(early, late)
    assert p is not None and p < 1e-3
    assert log_rank(early, early) == pytest.approx(1.0)
    assert log_rank([(8.0, True)] * 3, [(8.0, True)] * 3) is None  # no variance: undefined
    assert log_rank([(64.0, False)], [(64.0, False)]) is None


def test_paired_differences_use_a_t_interval_and_an_exact_wilcoxon() -> None:
    result = paired([1.0, 2.0, 3.0, 4.0, 5.0])
    # mean 3, standard error sqrt(2.5 / 5); t(0.975, 4) = 2.7764 from tables
    half = 2.7764 * np.sqrt(2.5 / 5)
    assert result["mean"] == pytest.approx(3.0)
    assert result["ci"] == pytest.approx([3.0 - half, 3.0 + half], abs=1e-3)
    # all five differences positive: exact two-sided p = 2 / 2**5
    assert result["wilcoxon_p"] == pytest.approx(2 / 32)


def test_labels_to_pass_is_the_first_budget_that_passed_or_censored() -> None:
    rows: list[dict[str, Any]] = [
        {"labels": 8, "survival": {"passed": False}},
        {"labels": 12, "survival": {"passed": True}},
        {"labels": 16},
    ]
    assert labels_to_pass(rows, 64) == (12.0, True)
    assert labels_to_pass(rows[:1], 64) == (64.0, False)


def _pool(size: int) -> list[Atoms]:
    frames = []
    for k in range(size):
        atoms = Atoms("H", positions=[[0, 0, 0]])
        atoms.info = {
            "walker": k // 10,
            "md_step": 10 * (k % 10),
            "flags": "none",
            "onset_of_step": -1,
        }
        frames.append(atoms)
    return frames


@pytest.mark.parametrize("arm", ["random", "uniform"])
def test_baseline_arms_grow_by_the_step_without_repeating_a_frame(arm: str) -> None:
    pool = _pool(40)
    held = first_labels(len(pool), 4, seed=3)
    assert held == first_labels(len(pool), 4, seed=3)  # every arm starts from these
    for step in range(3):
        added = next_labels(arm, pool, held, 4, seed=3, step=step)
        assert len(added) == 4 and not set(added) & set(held)
        held = held + added
    assert len(set(held)) == 16


def test_uniform_arm_spreads_its_picks_over_md_time() -> None:
    pool = _pool(40)  # 4 walkers of 10 frames, in time order
    added = next_labels("uniform", pool, [], 4, seed=0, step=0)
    assert sorted(pool[k].info["walker"] for k in added) == [0, 1, 2, 3]


def test_committee_scale_is_the_slope_of_error_on_deviation() -> None:
    # two members at +-d about their mean: sigma = |d| per atom; labels 2|d| away: slope 2
    rng = np.random.default_rng(0)
    pool, state = [], CommitteeState()
    for k in range(4):
        mean, d = rng.normal(size=(3, 3)), np.zeros((3, 3))
        d[:, 0] = rng.uniform(0.1, 1.0, size=3)
        atoms = Atoms("H3", positions=np.eye(3))
        atoms.arrays["REF_forces"] = mean + 2 * np.linalg.norm(d, axis=1)[:, None] * [0, 1, 0]
        pool.append(atoms)
        state.member_forces[k] = np.stack([mean + d, mean - d])
    assert state.scale(pool, [0, 1, 2, 3]) == pytest.approx(2.0)
    assert state.calibrations[-1]["rank_correlation"] == pytest.approx(1.0)
    assert CommitteeState().scale(pool, [0, 1]) == 1.0  # nothing judged yet


def test_the_scan_moves_only_the_two_li_to_the_asked_distance_across_the_boundary() -> None:
    # two Li+ 3 Å apart across the periodic boundary of a 10 Å cell, one water between
    cell = Atoms(
        "LiLiOHH",
        positions=[[8.5, 5, 5], [1.5, 5, 5], [5, 5, 5], [5.8, 5.6, 5], [4.2, 5.6, 5]],
        cell=[10, 10, 10],
        pbc=True,
    )
    moved = pulled(cell, (0, 1), 2.0)
    assert moved.get_distance(0, 1, mic=True) == pytest.approx(2.0)
    assert np.allclose(moved.positions[2:], cell.positions[2:])
    # symmetric about the pair's midpoint (at the boundary, x = 0)
    midpoint = (moved.positions[0] + moved.get_distance(0, 1, mic=True, vector=True) / 2) % 10
    assert np.allclose(np.minimum(midpoint, 10 - midpoint), [0, 5, 5])


@pytest.mark.parametrize("distance_A", [2.4, 2.9, 3.6])
def test_the_li_li_push_is_minus_the_energys_slope_along_the_pair(distance_A: float) -> None:
    """Against a finite difference of ASE's Lennard-Jones energy, the pair moved apart
    symmetrically, across the periodic boundary; a third Li⁺ farther away is not the pair,
    and an oxygen near one Li⁺ shifts the push, not the identity. With the oxygen away,
    the sign follows the pair potential (minimum at 2^(1/6) σ = 2.81 Å)."""
    from ase.calculators.lj import LennardJones

    def cell(r: float, oxygen_y: float) -> Atoms:
        # the far Li⁺ first: the pair is not simply the first two Li⁺
        positions = [[5, 5, 0], [0.4, 5, 5], [0.4 - r, 5, 5], [0.4, oxygen_y, 5]]
        atoms = Atoms("Li3O", positions=positions, cell=[10.0, 10.0, 10.0], pbc=True)
        atoms.wrap()
        atoms.calc = LennardJones(sigma=2.5, epsilon=0.2, rc=4.5, smooth=True)
        return atoms

    def shifted(atoms: Atoms, by: float) -> float:  # the pair pulled apart by ``by`` (Å)
        moved = atoms.copy()
        moved.calc = atoms.calc
        moved.positions[1, 0] += by / 2
        moved.positions[2, 0] -= by / 2
        return float(moved.get_potential_energy())

    h = 1e-4
    for oxygen_y, check_sign in ((7.6, False), (9.9, True)):
        atoms = cell(distance_A, oxygen_y)
        push = li_li_push_eV_per_A(atoms, atoms.get_forces())
        slope = (shifted(atoms, h) - shifted(atoms, -h)) / (2 * h)
        assert push == pytest.approx(-slope, rel=1e-4, abs=1e-7)
        if check_sign:
            assert np.sign(push) == (1 if distance_A < 2 ** (1 / 6) * 2.5 else -1)


def test_held_out_sets_never_share_a_frame_and_contacts_are_under_the_limit() -> None:
    md = [Atoms("H", positions=[[0, 0, k]]) for k in range(40)]
    for k, atoms in enumerate(md):
        atoms.info["md_step"] = k
    scan = []
    for distance in (1.6, 2.4, 2.6, 3.0):
        atoms = Atoms("Li2", positions=[[0, 0, 0], [distance, 0, 0]], cell=[9, 9, 9], pbc=True)
        atoms.info["li_li_A"] = distance
        scan.append(atoms)
    truth = held_out(md, scan, random_frames=30, starts=5)
    starts = {a.positions[0, 2] for a in truth.starts}
    assert len(starts) == 5 and not starts & {a.positions[0, 2] for a in truth.random_set}
    assert len(truth.random_set) == 30
    assert [a.info["li_li_A"] for a in truth.contact_set] == [1.6, 2.4]  # 2.6 is not a contact


def test_fused_runs_count_contacts_under_the_limit_the_runs_were_flagged_at() -> None:
    runs = [{"closest_li_li_A": d} for d in (2.1, 2.4, 2.6, None)]
    assert fused_runs({"li_li_A": 2.6, "runs": runs}) == 2  # 2.6 itself is not under
    assert fused_runs({"li_li_A": 2.2, "runs": runs}) == 1
    # an outcome stored before the limit was recorded was run at the default
    assert SURVIVAL_LI_LI_A == 2.2 and fused_runs({"runs": runs}) == 1


def test_packed_starts_are_distinct_cells_of_the_benchmark_composition() -> None:
    starts = packed_starts(3)
    assert [a.get_chemical_formula() for a in starts] == [starts[0].get_chemical_formula()] * 3
    assert sum(a.get_chemical_symbols().count("Li") for a in starts) == 3 * CELL["LiTFSI"]
    assert len({a.positions.tobytes() for a in starts}) == 3
    again = packed_starts(1)[0]
    assert np.array_equal(again.positions, starts[0].positions)  # seeded: every arm, same starts


def test_the_demo_start_labels_the_demo_budget_of_distinct_pool_frames() -> None:
    pool = [Atoms("H", positions=[[0, 0, k]]) for k in range(30)]
    picked = demo_first_labels(pool)
    heights = [a.positions[0, 2] for a in picked]
    assert len(heights) == 8 and len(set(heights)) == 8  # examples/demo.yaml's budget
    assert heights == [a.positions[0, 2] for a in demo_first_labels(pool)]


def test_reference_contacts_are_counted_per_temperature_across_the_boundary() -> None:
    def frame(distance_A: float, temperature_K: float) -> Atoms:
        # the pair meets across the periodic boundary: 10 - distance apart in the cell
        atoms = Atoms("Li2", positions=[[0.5, 0, 0], [10.5 - distance_A, 0, 0]], cell=[10] * 3)
        atoms.pbc = True
        atoms.info["temperature_K"] = temperature_K
        return atoms

    md = [frame(d, 300.0) for d in (4.0, 3.5)] + [frame(d, 400.0) for d in (3.0, 2.45, 2.5, 4)]
    found = reference_contacts(md)
    assert set(found) == {"300", "400"}
    assert found["300"]["closest_li_li_A"] == pytest.approx(3.5)
    assert found["300"]["frames_in_contact"] == 0
    assert found["400"]["closest_li_li_A"] == pytest.approx(2.45)
    assert found["400"]["frames_in_contact"] == pytest.approx(0.5)  # 2 of 4 under 2.6 Å


def _row(
    arm: str, seed: int, labels: int, passed: bool | None, closest_A: tuple[float, ...] = ()
) -> dict[str, Any]:
    row: dict[str, Any] = {"arm": arm, "seed": seed, "labels": labels}
    row |= {"contact_forces_rmse_meV_per_A": 100.0, "random_forces_rmse_meV_per_A": 50.0}
    if passed is not None:
        closest_A = closest_A or ((3.0, 3.1) if passed else (2.0, 3.1))
        runs = [{"closest_li_li_A": d, "broke": None, "steps_done": 10} for d in closest_A]
        row["survival"] = {
            "passed": passed, "physical_fraction": 1.0 if passed else 0.5, "runs": runs,
            "li_li_A": 2.2,
        }  # fmt: skip
    return row


def test_a_seed_whose_shared_first_model_already_passes_cannot_time_the_removal() -> None:
    arms = ("committee", "flags", "random", "uniform")
    rows = [_row(arm, 0, 4, True) for arm in arms] + [_row(arm, 0, 8, None) for arm in arms]
    summary = summarise(rows, [4, 8], [0])
    assert summary["informative_seeds"] == []
    assert "not measurable" in summary["verdict"]
    # a seed that starts failing counts: the committee passes at 8, random never
    rows = [_row(arm, 1, 4, False) for arm in arms]
    rows += [_row("committee", 1, 8, True), _row("random", 1, 8, False)]
    rows += [_row(arm, 1, 8, False) for arm in ("flags", "uniform")]
    summary = summarise(rows, [4, 8], [1])
    assert summary["informative_seeds"] == [1]
    assert summary["arms"]["committee"]["labels_to_pass"] == [[8.0, True]]
    assert summary["arms"]["random"]["labels_to_pass"] == [[8.0, False]]


def test_a_stopped_seed_is_censored_where_it_stopped_and_fused_runs_are_counted() -> None:
    arms = ("committee", "flags", "random", "uniform")
    rows = [_row(arm, 0, 1, False, (2.1, 2.9, 3.4)) for arm in arms]
    rows += [_row("random", 0, 2, True, (2.25, 3.0, 3.2)), _row("committee", 0, 2, False)]
    summary = summarise(rows, [1, 2, 4], [0])  # flags and uniform stopped after 1 label
    arms_ = summary["arms"]
    assert arms_["random"]["labels_to_pass"] == [[2.0, True]]
    assert arms_["committee"]["labels_to_pass"] == [[2.0, False]]  # censored at 2, not 4
    assert arms_["flags"]["labels_to_pass"] == [[1.0, False]]
    first = arms_["committee"]["by_budget"][1]
    assert (first["fused_runs"], first["survival_runs"], first["closest_li_li_A"]) == (1, 3, 2.1)
    assert arms_["random"]["by_budget"][2]["fused_runs"] == 0  # 2.25 Å is not under 2.2
    assert arms_["flags"]["by_budget"][4]["random"]["mean"] is None  # nobody reached 4
    assert "within the budgets measured (up to 2 labels)" in summary["verdict"]
    table = markdown({"summary": summary, "arguments": {"budgets": [1, 2, 4]},
                      "seeds_reported": [0], "survival_li_li_A": 2.2})  # fmt: skip
    assert "| committee | 1/3 (2.10) | 1/2 (2.00) | – |" in table
    assert "| random | committee | +0 | +0 | – |" in table  # no pair at 4 labels yet
    assert summarise([], [1, 2], [])["verdict"] == "No seed measured yet: nothing to say."


def test_in_process_fine_tuning_learns_the_labels_and_is_seeded(
    tiny_committee_paths: list[Path], tmp_path: Path
) -> None:
    """The benchmark's fitter lowers the force error on its labels (recorded xTB clusters),
    repeats itself for a seed, and a bootstrap resample gives another model."""
    from benchmarks.label_efficiency.fine_tune import fine_tune
    from tests.support.mace_models import DATA
    from wise_al.campaign_spec.model import TrainingSpec
    from wise_al.mace.evaluate import evaluate

    frames = read(DATA, ":8")
    assert isinstance(frames, list)
    start = tiny_committee_paths[0]
    training = TrainingSpec(batch_size=4)

    def error(model: Path) -> float:
        return evaluate(model, frames)[0].forces_rmse_meV_per_A

    once = fine_tune(start, frames, training, 40, 3, tmp_path / "a.model")
    again = fine_tune(start, frames, training, 40, 3, tmp_path / "b.model")
    resampled = fine_tune(start, frames, training, 40, 3, tmp_path / "c.model", bootstrap=True)
    assert error(once) < 0.8 * error(start)
    assert error(again) == pytest.approx(error(once), rel=1e-9)
    assert abs(error(resampled) - error(once)) > 1e-6 * error(once)
