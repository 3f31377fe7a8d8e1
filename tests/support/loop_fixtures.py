"""A small campaign for loop tests: the demo cell, foundation MD, xTB labels, 2 members."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import example_spec, with_value
from wise_al.jobs.run import advance_and_plan, run_unit
from wise_al.settings import WorkerSettings

#: Production MD after each committee, cut to seconds: 20 steps to equilibrate the packed
#: cell with that committee, then 100 steps (11 frames).
SHORT_VALIDATION: dict[str, Any] = {
    "enabled": True,
    "equilibration_steps": 20,
    "steps": 100,
    "save_interval_steps": 10,
    "checkpoint_interval_steps": 50,
    "device": "cpu",
}


def small_campaign(**overrides: Any) -> dict[str, Any]:
    """The demo spec cut to seconds per phase: 1 walker of 20 steps, 3 labels per iteration.

    ``overrides`` maps dotted paths to values (``{"stopping.max_iterations": 3}``).
    """
    spec = example_spec("demo")
    values: dict[str, Any] = {
        "name": "loop-test",
        "system.walkers": [{"temperature_K": 300.0}],
        "exploration.steps_per_iteration": [20],
        "exploration.save_interval_steps": 5,
        "selection.budget_per_iteration": 3,
        "model.training.max_num_epochs": 2,
        # one frame per batch: members see the frames in their own seed's order and differ
        "model.training.batch_size": 1,
        # two training frames: bootstrap resamples of them are often the same multiset, and
        # members trained on the same data in the same order are one model (collapsed); a
        # learning rate of their own makes them differ whatever the order
        "model.training.bootstrap": False,
        "model.training.member_lr_factor": 2.0,
        "stopping.max_iterations": 2,
        "stopping.accurate_ratio_target": 1.0,
        # members fine-tuned for 2 epochs barely differ: a tight window keeps frames coming
        "uncertainty.trust_lo_eV_per_A": 1e-4,
        "uncertainty.trust_hi_eV_per_A": 10.0,
        "labelling.time_limit_s": 120,
        # production MD after each committee: off unless a test asks (the loop and dashboard
        # tests turn it on with a few steps)
        "validation.enabled": False,
        **overrides,
    }
    for path, value in values.items():
        spec = with_value(spec, path, value)
    return spec


def drain(sessions: sessionmaker[Session], settings: WorkerSettings, campaign_id: int) -> list[str]:
    """Run every planned unit in order, as one worker with every queue would; returns keys."""
    queue = advance_and_plan(sessions, campaign_id)
    done = []
    while queue:
        run = queue.pop(0)
        done.append(run.unit_key)
        queue += run_unit(sessions, settings, run.id, "inline")
        assert len(done) < 200, "the loop does not end"
    return done
