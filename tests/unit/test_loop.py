"""The loop as a pure state machine: every branch, and whole campaigns simulated without I/O."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from pydantic import ValidationError

from wise_al.campaign_spec import CampaignSpec
from wise_al.loop import CampaignStatus, Command, Phase, Snapshot, Unit, advance, first_phase
from wise_al.loop.advance import walker_count

RUNNING = CampaignStatus.RUNNING


def spec(**sections: object) -> CampaignSpec:
    body: dict[str, object] = {
        "name": "loop",
        "model": {"foundation": "models/f.model", "committee_size": 3},
        "system": {"walkers": [{"temperature_K": 300, "replicas": 2}, {"temperature_K": 400}]},
        "stopping": {"max_iterations": 3, "accurate_ratio_target": 0.9, "max_labels": 100},
    }
    body.update(sections)
    return CampaignSpec.model_validate(body)


def snap(phase: Phase, **counts: object) -> Snapshot:
    return replace(Snapshot(RUNNING, 0, phase, walkers=3), **counts)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [s for s in CampaignStatus if s != RUNNING])
@pytest.mark.parametrize("phase", list(Phase))
def test_nothing_runs_unless_the_campaign_is_running(status: CampaignStatus, phase: Phase) -> None:
    transition = advance(replace(snap(phase), status=status), spec())
    assert transition.commands == () and not transition.moves_from(
        replace(snap(phase), status=status)
    )
    assert str(status) in transition.reason


def test_exploration_asks_for_every_walker_until_all_have_ended() -> None:
    assert walker_count(spec()) == 3
    t = advance(snap(Phase.EXPLORE, walkers_finished=1), spec())
    assert t.phase == Phase.EXPLORE
    assert t.commands == tuple(Command(Unit.EXPLORE, 0, k) for k in range(3))
    t = advance(snap(Phase.EXPLORE, walkers_finished=3, walkers_failed=1), spec())
    assert t.phase == Phase.SELECT and t.commands == (Command(Unit.SELECT, 0),)


def test_every_walker_failing_fails_the_campaign() -> None:
    t = advance(snap(Phase.EXPLORE, walkers_finished=3, walkers_failed=3), spec())
    assert (t.status, t.phase) == (CampaignStatus.FAILED, Phase.DONE)


def test_convergence_needs_a_calibrated_committee_and_the_target_ratio() -> None:
    converged = snap(
        Phase.EXPLORE,
        walkers_finished=3,
        accurate_ratio=0.95,
        has_committee=True,
        calibration_verdict="calibrated",
    )
    t = advance(converged, spec())
    assert t.status == CampaignStatus.COMPLETED and "95.0%" in t.reason
    # the foundation alone (iteration 0) has no deviation to trust
    assert advance(replace(converged, has_committee=False), spec()).phase == Phase.SELECT
    assert advance(replace(converged, accurate_ratio=0.85), spec()).phase == Phase.SELECT
    # a committee whose validation MD fused two Li⁺ has not converged, however it agrees
    broke = replace(converged, explorer_broke="step 120: Li 0 and Li 1 are 1.90 Å apart")
    t = advance(broke, spec())
    assert t.status == RUNNING and t.phase == Phase.SELECT
    assert "validation MD broke at step 120: Li 0 and Li 1 are 1.90 Å apart" in t.reason


def test_an_under_dispersed_or_uncalibrated_committee_never_converges() -> None:
    agreeing = snap(Phase.EXPLORE, walkers_finished=3, accurate_ratio=1.0, has_committee=True)
    overconfident = replace(agreeing, calibration_verdict="under_dispersed", dispersion_ratio=0.02)
    t = advance(overconfident, spec())
    assert t.status == RUNNING and t.phase == Phase.SELECT
    assert "not converged although 100.0%" in t.reason
    assert "under-dispersed" in t.reason and "50x below its true error" in t.reason
    t = advance(agreeing, spec())
    assert t.phase == Phase.SELECT and "not yet checked against fresh labels" in t.reason


def test_new_labels_calibrate_the_exploring_committee_before_training() -> None:
    labelled = snap(Phase.LABEL, e0s_ready=True, labels_done_iteration=3, has_committee=True)
    t = advance(labelled, spec())
    assert t.phase == Phase.LABEL and t.commands == (Command(Unit.CALIBRATE, 0),)
    t = advance(replace(labelled, calibrated=True), spec())
    assert t.phase == Phase.TRAIN
    # iteration 0 explored with the foundation alone: nothing to calibrate
    assert advance(replace(labelled, has_committee=False), spec()).phase == Phase.TRAIN


def test_selection_leads_to_labels_with_reference_energies_first() -> None:
    assert advance(snap(Phase.SELECT), spec()).commands == (Command(Unit.SELECT, 0),)
    t = advance(snap(Phase.SELECT, selected=2, to_label=(7, 9)), spec())
    assert t.phase == Phase.LABEL
    assert t.commands == (
        Command(Unit.E0S, 0),
        Command(Unit.LABEL, 0, 7),
        Command(Unit.LABEL, 0, 9),
    )
    t = advance(snap(Phase.SELECT, selected=1, to_label=(7,), e0s_ready=True), spec())
    assert t.commands == (Command(Unit.LABEL, 0, 7),)
    assert advance(snap(Phase.SELECT, selected=0), spec()).phase == Phase.DECIDE


def test_the_review_gate_holds_labelling_until_every_decision() -> None:
    gated = spec(review={"gate": "required"})
    assert advance(snap(Phase.SELECT, selected=2, to_label=(7, 9)), gated).phase == Phase.REVIEW
    t = advance(snap(Phase.REVIEW, awaiting_review=1, to_label=(7,)), gated)
    assert t.phase == Phase.REVIEW and t.commands == () and "1 review" in t.reason
    t = advance(snap(Phase.REVIEW, to_label=(7,), e0s_ready=True), gated)
    assert t.phase == Phase.LABEL and t.commands == (Command(Unit.LABEL, 0, 7),)
    assert advance(snap(Phase.REVIEW), gated).phase == Phase.DECIDE  # all rejected


def test_labelling_ends_in_training_or_skips_it() -> None:
    t = advance(snap(Phase.LABEL, e0s_ready=True, labels_done_iteration=2), spec())
    assert t.phase == Phase.TRAIN
    assert t.commands == tuple(Command(Unit.TRAIN, 0, k) for k in range(3))
    assert advance(snap(Phase.LABEL, e0s_ready=True), spec()).phase == Phase.DECIDE
    t = advance(snap(Phase.LABEL, e0s_failed="CP2K is missing"), spec())
    assert t.status == CampaignStatus.FAILED and "reference energies" in t.reason
    assert advance(snap(Phase.LABEL, to_label=(3,), e0s_ready=True), spec()).phase == Phase.LABEL


def test_a_failed_selection_or_evaluation_fails_the_campaign_with_its_error() -> None:
    t = advance(snap(Phase.SELECT, selection_failed="ValueError: no descriptor"), spec())
    assert t.status == CampaignStatus.FAILED and "no descriptor" in t.reason
    t = advance(snap(Phase.EVALUATE, evaluation_failed="KeyError: 'errors'"), spec())
    assert t.status == CampaignStatus.FAILED and "KeyError" in t.reason
    t = advance(snap(Phase.TRAIN, members_failed=("exit 137", "exit 1")), spec())
    assert "2 members failed to train, the first: exit 137" in t.reason


def test_training_then_evaluation() -> None:
    assert advance(snap(Phase.TRAIN, members_done=2), spec()).phase == Phase.TRAIN
    t = advance(snap(Phase.TRAIN, members_done=2, members_failed=("out of memory",)), spec())
    assert t.status == CampaignStatus.FAILED
    t = advance(snap(Phase.TRAIN, members_done=3), spec())
    assert t.phase == Phase.EVALUATE and t.commands == (Command(Unit.EVALUATE, 0),)
    assert advance(snap(Phase.EVALUATE), spec()).phase == Phase.EVALUATE
    assert advance(snap(Phase.EVALUATE, evaluated=True), spec()).phase == Phase.DECIDE


VALIDATING = {"validation": {"enabled": True, "steps": 100, "save_interval_steps": 10}}


def test_validation_runs_after_evaluation_when_enabled_and_its_failure_is_a_finding() -> None:
    on = spec(**VALIDATING)
    t = advance(snap(Phase.EVALUATE, evaluated=True), on)
    assert t.phase == Phase.VALIDATE and t.commands == (Command(Unit.VALIDATE, 0),)
    t = advance(snap(Phase.VALIDATE), on)
    assert t.phase == Phase.VALIDATE and t.commands == (Command(Unit.VALIDATE, 0),)
    t = advance(snap(Phase.VALIDATE, validated=True), on)
    assert t.phase == Phase.DECIDE and "validated" in t.reason
    failed = snap(Phase.VALIDATE, validated=True, validation_failed="MD blew up at step 40")
    t = advance(failed, on)
    assert (t.status, t.phase) == (RUNNING, Phase.DECIDE) and "MD blew up" in t.reason


def test_observable_targets_stop_the_campaign_only_when_every_one_holds() -> None:
    npt = {"validation": {**VALIDATING["validation"], "ensemble": "NPT"}}
    with pytest.raises(ValidationError, match=r"density_error_percent needs validation\.ensemble"):
        spec(**VALIDATING, stopping={"observable_targets": {"density_error_percent": 2}})
    targets = spec(
        **npt,
        stopping={
            "max_iterations": 5,
            "observable_targets": {"sq_r_factor": 0.05, "density_error_percent": 2},
        },
    )
    good = (("density_error_percent", 1.2), ("sq_r_factor", 0.031))
    t = advance(snap(Phase.DECIDE, validated=True, observables=good), targets)
    assert t.status == CampaignStatus.COMPLETED
    assert "sq_r_factor 0.031 <= 0.05" in t.reason and "density_error_percent 1.2 <= 2" in t.reason
    half = (("density_error_percent", 3.0), ("sq_r_factor", 0.031))
    assert advance(snap(Phase.DECIDE, validated=True, observables=half), targets).status == RUNNING
    missing = (("sq_r_factor", 0.031),)  # a metric that was not measured never holds
    assert (
        advance(snap(Phase.DECIDE, validated=True, observables=missing), targets).status == RUNNING
    )
    failed = snap(Phase.DECIDE, validated=True, validation_failed="x", observables=good)
    assert advance(failed, targets).status == RUNNING


def test_observable_targets_without_validation_are_refused() -> None:
    with pytest.raises(ValueError, match=r"observable_targets need validation\.enabled"):
        spec(stopping={"observable_targets": {"sq_r_factor": 0.05}})
    with pytest.raises(ValueError, match="observable_targets"):
        spec(**VALIDATING, stopping={"observable_targets": {"pressure": 1.0}})
    twice = {"validation": {**VALIDATING["validation"], "dispersion": "d3bj"}}
    with pytest.raises(ValueError, match=r"include D3BJ already.*counts it twice"):
        spec(labelling={"method": "dft", "dispersion": "D3BJ"}, **twice)
    with pytest.raises(ValueError, match="GFN1-xTB's own D3"):
        spec(labelling={"method": "xtb"}, **twice)
    dft = {"method": "dft", "dispersion": "none"}
    with pytest.raises(ValueError, match="the potential explored would not be the one validated"):
        spec(labelling=dft, **twice)
    plain = spec(labelling=dft, exploration={"dispersion": "d3bj"}, **twice)
    # D3 at MD time only, in every MD the potential runs: one choice, recorded
    assert plain.validation.dispersion == plain.exploration.dispersion == "d3bj"
    with pytest.raises(ValueError, match=r"\(exploration\.dispersion\) counts it twice"):
        spec(labelling={"method": "xtb"}, exploration={"dispersion": "d3zero"})
    with pytest.raises(ValueError, match="'equilibrated' needs validation"):
        spec(exploration={"start": "equilibrated"})
    assert (
        spec(exploration={"start": "equilibrated"}, **VALIDATING).exploration.start
        == "equilibrated"
    )


@pytest.mark.parametrize(
    ("iteration", "labels_total", "status", "reason"),
    [
        (0, 10, RUNNING, "iteration 1 starts"),
        (2, 10, CampaignStatus.COMPLETED, "max_iterations"),
        (0, 100, CampaignStatus.COMPLETED, "label budget"),
    ],
)
def test_decide_applies_the_stopping_rules(
    iteration: int, labels_total: int, status: CampaignStatus, reason: str
) -> None:
    t = advance(snap(Phase.DECIDE, iteration=iteration, labels_total=labels_total), spec())
    assert t.status == status and reason in t.reason
    if status == RUNNING:
        assert (t.iteration, t.phase) == (1, Phase.EXPLORE)
        assert t.commands == tuple(Command(Unit.EXPLORE, 1, k) for k in range(3))


def _simulate(
    campaign: CampaignSpec, rng: random.Random, cancel_at: int | None = None
) -> list[str]:
    """Run the loop against a toy world that carries out commands with random outcomes."""
    s = Snapshot(RUNNING, 0, Phase.EXPLORE, walkers=walker_count(campaign))
    trace = []
    for step in itertools.count():
        assert step < 500, "the loop did not terminate"
        if cancel_at is not None and step == cancel_at:
            s = replace(s, status=CampaignStatus.CANCELLED)
        t = advance(s, campaign)
        trace.append(f"{t.iteration}:{t.phase}")
        if t.status != RUNNING:
            return trace
        if t.moves_from(s):
            fresh = Snapshot(RUNNING, t.iteration, t.phase, walkers=s.walkers)
            s = replace(
                fresh,
                has_committee=s.has_committee or s.members_done > 0,
                calibration_verdict=s.calibration_verdict,
                labels_total=s.labels_total,
                e0s_ready=s.e0s_ready,
                selected=None,
                to_label=s.to_label if t.phase in (Phase.LABEL, Phase.REVIEW) else (),
                awaiting_review=s.awaiting_review,
            )
            if t.iteration == s.iteration:  # the iteration's validation stays on its row
                s = replace(
                    s,
                    validated=s.validated,
                    validation_failed=s.validation_failed,
                    observables=s.observables,
                )
            if t.phase == Phase.EXPLORE:
                s = replace(s, to_label=(), awaiting_review=0)
        for command in t.commands:  # the world does the work, sometimes badly
            if command.unit == Unit.EXPLORE and s.walkers_finished < s.walkers:
                s = replace(
                    s,
                    walkers_finished=s.walkers_finished + 1,
                    walkers_failed=s.walkers_failed + (rng.random() < 0.2),
                    accurate_ratio=rng.random(),
                )
            elif command.unit == Unit.SELECT and s.selected is None:
                chosen = tuple(rng.sample(range(1000), rng.randint(0, 4)))
                s = replace(s, selected=len(chosen), to_label=chosen, awaiting_review=len(chosen))
            elif command.unit == Unit.E0S:
                s = replace(s, e0s_ready=True)
            elif command.unit == Unit.LABEL and command.index in s.to_label:
                ok = rng.random() < 0.8
                s = replace(
                    s,
                    to_label=tuple(f for f in s.to_label if f != command.index),
                    labels_done_iteration=s.labels_done_iteration + ok,
                    labels_total=s.labels_total + ok,
                )
            elif command.unit == Unit.TRAIN and s.members_done < campaign.model.committee_size:
                s = replace(s, members_done=s.members_done + 1)
            elif command.unit == Unit.EVALUATE:
                s = replace(s, evaluated=True)
            elif command.unit == Unit.VALIDATE:
                error = "blew up" if rng.random() < 0.2 else None
                r_factor = (("sq_r_factor", rng.random() / 5),)
                s = replace(s, validated=True, validation_failed=error, observables=r_factor)
            elif command.unit == Unit.CALIBRATE:
                verdict = rng.choice(["calibrated", "under_dispersed"])
                s = replace(s, calibrated=True, calibration_verdict=verdict)
        if s.phase == Phase.REVIEW:  # a reviewer accepts some and rejects the rest
            kept = tuple(f for f in s.to_label if rng.random() < 0.7)
            s = replace(s, to_label=kept, awaiting_review=0)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("gate", ["auto", "required"])
@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("validating", [False, True])
def test_simulated_campaigns_always_stop_by_a_rule(gate: str, seed: int, validating: bool) -> None:
    stopping: dict[str, object] = {"max_iterations": 4, "max_labels": 9}
    sections: dict[str, object] = {"review": {"gate": gate}, "stopping": stopping}
    if validating:
        stopping["observable_targets"] = {"sq_r_factor": 0.05}
        sections |= VALIDATING
    trace = _simulate(spec(**sections), random.Random(seed))
    last_iteration = int(trace[-1].split(":")[0])
    assert last_iteration < 4 and trace[-1].endswith(":done")
    if gate == "auto":
        assert not any(step.endswith(":review") for step in trace)
    if validating:
        assert any(step.endswith(":validate") for step in trace) or "train" not in str(trace)


def test_a_cancelled_campaign_stops_issuing_work() -> None:
    trace = _simulate(spec(), random.Random(0), cancel_at=5)
    assert len(trace) == 6


def test_a_seeded_campaign_imports_then_computes_e0s_then_trains_before_exploring() -> None:
    seeded = spec(
        model={"strategy": "from_scratch", "initial_dataset": "aimd", "committee_size": 2}
    )
    assert first_phase(seeded) == Phase.SEED
    waiting = advance(snap(Phase.SEED), seeded)
    assert waiting.phase == Phase.SEED and waiting.commands == (Command(Unit.SEED, 0),)
    failed = advance(snap(Phase.SEED, seed_failed="no such file"), seeded)
    assert failed.status == CampaignStatus.FAILED and "no such file" in failed.reason
    imported = advance(snap(Phase.SEED, seeded=True, labels_done_iteration=40), seeded)
    assert imported.phase == Phase.LABEL and "40 labels imported" in imported.reason
    assert imported.commands == (Command(Unit.E0S, 0),)
    ready = snap(Phase.LABEL, seeded=True, labels_done_iteration=40, e0s_ready=True)
    training = advance(ready, seeded)
    assert training.phase == Phase.TRAIN  # no committee explored yet: nothing to calibrate
    assert {c.unit for c in training.commands} == {Unit.TRAIN}
    # imported labels are not DFT spent here: the budget counts CP2K labels only
    decided = advance(snap(Phase.DECIDE, labels_total=0, labels_done_iteration=40), seeded)
    assert decided.iteration == 1 and decided.phase == Phase.EXPLORE


@pytest.mark.parametrize("gate", ["auto", "required"])
def test_a_campaign_with_no_data_and_no_model_packs_cells_then_labels_them(gate: str) -> None:
    scratch = spec(
        model={"strategy": "from_scratch", "committee_size": 2, "initial_cells": {"cells": 2}},
        review={"gate": gate},
    )
    assert first_phase(scratch) == Phase.SEED
    waiting = advance(snap(Phase.SEED), scratch)
    assert waiting.commands == (Command(Unit.PACK, 0),) and "packing" in waiting.reason
    failed = advance(snap(Phase.SEED, seed_failed="packmol is not installed"), scratch)
    assert failed.status == CampaignStatus.FAILED
    assert "packing and relaxing the initial cells failed: packmol" in failed.reason
    packed = advance(snap(Phase.SEED, seeded=True, to_label=(1, 2), awaiting_review=2), scratch)
    if gate == "required":  # a reviewer sees packed frames before DFT is spent on them
        assert packed.phase == Phase.REVIEW and packed.commands == ()
    else:
        assert packed.phase == Phase.LABEL and "2 frames of packed cells" in packed.reason
        e0s, *labels = packed.commands
        assert e0s == Command(Unit.E0S, 0) and labels == [Command(Unit.LABEL, 0, k) for k in (1, 2)]


def test_the_foundation_baseline_trains_nothing_and_stops_after_its_evaluation() -> None:
    baseline = spec(model={"foundation": "models/f.model", "strategy": "foundation"})
    assert baseline.model.committee_size == 1
    assert first_phase(baseline) == Phase.TRAIN
    asked = advance(snap(Phase.TRAIN), baseline)
    assert asked.commands == (Command(Unit.TRAIN, 0, 0),)
    evaluated = advance(snap(Phase.TRAIN, members_done=1), baseline)
    assert evaluated.phase == Phase.EVALUATE
    done = advance(snap(Phase.DECIDE, evaluated=True), baseline)
    assert done.status == CampaignStatus.COMPLETED and "trains nothing" in done.reason
    assert first_phase(spec()) == Phase.EXPLORE


def test_strategies_refuse_what_they_cannot_do() -> None:
    with pytest.raises(ValueError, match="evaluates the foundation alone"):
        spec(model={"foundation": "f.model", "strategy": "foundation", "committee_size": 3})
    with pytest.raises(ValueError, match=r"initial_dataset .* initial_cells .* or foundation"):
        spec(model={"strategy": "from_scratch"})
    both = {"strategy": "from_scratch", "initial_dataset": "aimd", "initial_cells": {}}
    with pytest.raises(ValueError, match="either by initial_dataset or by packed cells"):
        spec(model=both)
    with pytest.raises(ValueError, match="initial_cells: strategy 'foundation' trains on"):
        spec(model={"foundation": "f.model", "strategy": "foundation", "initial_cells": {}})
    with pytest.raises(ValueError, match="frames_per_cell: 4 frames cannot come from a rel"):
        spec(
            model={
                "strategy": "from_scratch",
                "initial_cells": {"relax_steps": 2, "frames_per_cell": 4},
            }
        )
    with pytest.raises(ValueError, match="at least 2 members"):
        spec(model={"foundation": "f.model", "committee_size": 1})
    with pytest.raises(ValueError, match="start_structures go together"):
        spec(exploration={"start": "structures"})
