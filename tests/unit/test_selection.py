"""Selection: window ∪ flagged -> dedupe -> diversity -> budget, every rejection explained."""

from __future__ import annotations

import numpy as np
import pytest

from wise_al.campaign_spec.exploration import SelectionSpec, UncertaintySpec
from wise_al.selection import Candidate, select_frames

WINDOW = UncertaintySpec(trust_lo_eV_per_A=0.05, trust_hi_eV_per_A=0.15)


def candidate(
    index: int, deviation: float, descriptor: list[float], flags: tuple[str, ...] = ()
) -> Candidate:
    return Candidate(index, deviation, flags, np.array(descriptor, dtype=float))


def selection(
    budget: int, diversity: bool = True, seed: int = 0, twins: float = 0.05
) -> SelectionSpec:
    return SelectionSpec(
        budget_per_iteration=budget,
        diversity=diversity,
        seed=seed,
        near_duplicate_distance=twins,
        audit_frames=0,
    )


def test_window_flags_duplicates_and_budget_each_leave_a_reason() -> None:
    frames = [
        candidate(0, 0.01, [0, 0]),  # accurate
        candidate(1, 0.40, [5, 5]),  # failed, no flag
        candidate(2, 0.40, [9, 0], ("min_distance",)),  # failed but flagged: kept
        candidate(3, 0.10, [0, 9]),
        candidate(4, 0.09, [0, 9.0001]),  # twin of 3
        candidate(5, 0.08, [4, 4]),
        candidate(6, 0.07, [1, 1]),
    ]
    decisions = select_frames(frames, selection(budget=3), WINDOW)
    by_index = {d.index: d for d in decisions}
    assert [d.index for d in decisions] == list(range(7))
    assert "accurate" in by_index[0].reason and not by_index[0].selected
    assert "no physics flag" in by_index[1].reason
    assert by_index[2].selected and by_index[2].reason == "flagged: min_distance #1"
    assert "near-duplicate of frame 3" in by_index[4].reason
    selected = [d.index for d in decisions if d.selected]
    assert len(selected) == 3 and 2 in selected and 3 in selected
    over = [d for d in decisions if "over the budget of 3" in d.reason]
    assert len(over) == 1  # 5 candidates survive dedupe and window: 3 in, 1 over, 4 twin


def test_diversity_spreads_the_picks() -> None:
    cluster = [candidate(k, 0.10 + 0.001 * k, [0.01 * k, 0]) for k in range(10)]
    outlier = candidate(10, 0.06, [10, 10])
    spread = select_frames([*cluster, outlier], selection(budget=2, twins=0), WINDOW)
    assert [d.index for d in spread if d.selected] == [9, 10]  # far away, though less uncertain
    greedy = select_frames([*cluster, outlier], selection(2, diversity=False, twins=0), WINDOW)
    assert [d.index for d in greedy if d.selected] == [8, 9]  # highest deviations


def test_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(1)
    frames = [
        candidate(k, float(rng.uniform(0.05, 0.15)), list(rng.normal(size=4))) for k in range(40)
    ]
    first = select_frames(frames, selection(budget=7, seed=3), WINDOW)
    again = select_frames(list(reversed(frames)), selection(budget=7, seed=3), WINDOW)
    assert first == again


def test_nothing_to_select() -> None:
    assert select_frames([], selection(budget=5), WINDOW) == []
    only_accurate = [candidate(0, 0.0, [0.0])]
    (decision,) = select_frames(only_accurate, selection(budget=5), WINDOW)
    assert not decision.selected


def _timed(count: int, walkers: int = 2) -> list[Candidate]:
    return [
        Candidate(k, 0.01, (), np.zeros(2), time=(k % walkers, 10 * (k // walkers)))
        for k in range(count)
    ]


def test_random_baseline_draws_the_budget_reproducibly_ignoring_the_committee() -> None:
    frames = _timed(40)
    spec = SelectionSpec(strategy="random", budget_per_iteration=8, seed=3)
    first = select_frames(frames, spec, WINDOW)
    again = select_frames(frames, spec, WINDOW)
    chosen = [d.index for d in first if d.selected]
    assert chosen == [d.index for d in again if d.selected]
    assert len(chosen) == 8  # accurate frames too: the baseline does not look
    other = select_frames(frames, spec.model_copy(update={"seed": 4}), WINDOW)
    assert chosen != [d.index for d in other if d.selected]
    assert all("random draw" in d.reason for d in first if d.selected)
    assert sum(d.selected for d in select_frames(frames, spec, WINDOW, budget=2)) == 2


def test_uniform_baseline_spaces_frames_evenly_in_time() -> None:
    frames = _timed(40, walkers=2)  # walker 0 has steps 0..190, walker 1 too
    spec = SelectionSpec(strategy="uniform", budget_per_iteration=4)
    chosen = {d.index for d in select_frames(frames, spec, None) if d.selected}
    times = sorted(frames[k].time for k in chosen)
    # the centres of 4 equal slices of 40 frames in (walker, step) order: 5, 15, 25, 35
    assert times == [(0, 50), (0, 150), (1, 50), (1, 150)]


def test_audits_draw_from_what_the_window_throws_away_within_the_budget() -> None:
    frames = [candidate(k, 0.01, [k, 0]) for k in range(5)]  # accurate
    frames += [candidate(5 + k, 0.40, [0, k]) for k in range(5)]  # failed, no flag
    frames += [candidate(10 + k, 0.10, [k, k]) for k in range(5)]  # in the window
    spec = SelectionSpec(budget_per_iteration=4, audit_frames=2, seed=3)
    decisions = select_frames(frames, spec, WINDOW)
    chosen = [d for d in decisions if d.selected]
    audits = [d for d in chosen if d.reason.startswith("audit")]
    assert len(chosen) == 4 and len(audits) == 2
    assert all(d.index < 10 for d in audits)  # drawn from the accurate and failed frames
    assert all("the committee called it" in d.reason for d in audits)
    assert sum(d.index >= 10 for d in chosen) == 2  # the window's own picks fill the rest
    # reproducible for a seed; no window (no committee), no audit
    assert select_frames(frames, spec, WINDOW) == decisions
    assert not any(d.reason.startswith("audit") for d in select_frames(frames, spec, None))


def test_an_adaptive_lower_level_makes_the_target_share_candidates() -> None:
    from wise_al.selection.adaptive import adapted_trust_lo

    scores = [0.01 * k for k in range(1, 21)] + [0.5, 0.6]  # 22 frames, 2 above trust_hi
    lo = adapted_trust_lo(scores, trust_hi_eV_per_A=0.3, share=0.25)
    # round(0.25 x 22) = 6 frames in [lo, 0.3): the six highest below trust_hi
    assert lo == pytest.approx(0.15)
    assert sum(lo <= s < 0.3 for s in scores) == 6
    # a share larger than what lies below trust_hi takes all of it; never an empty window
    assert adapted_trust_lo(scores, 0.3, 0.99) == pytest.approx(0.01)
    assert adapted_trust_lo(scores, 0.3, 0.001) == pytest.approx(0.20)
    assert adapted_trust_lo([0.5, 0.6], 0.3, 0.5) == pytest.approx(0.15)  # nothing below
    # the loop's window then classes by it: the six are candidates, the rest accurate
    frames = [candidate(k, s, [k, 0]) for k, s in enumerate(scores)]
    window = UncertaintySpec(trust_lo_eV_per_A=lo, trust_hi_eV_per_A=0.3)
    decisions = select_frames(frames, selection(budget=50), window)
    assert sum(d.selected for d in decisions) == 6
    assert sum("accurate" in d.reason for d in decisions) == 14
