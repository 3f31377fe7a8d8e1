"""Evaluate an iteration's committee: its members' held-out errors, averaged."""

from __future__ import annotations

from statistics import fmean

from wise_al.db.engine import transaction
from wise_al.db.models import RunStatus
from wise_al.db.repositories import (
    IterationRepository,
    LabelRepository,
    ModelVersionRepository,
)
from wise_al.jobs.outcomes import EVALUATION_KEY
from wise_al.jobs.unit import (
    Sessions,
    UnitKind,
    failure_in_metrics,
    outcome_in_metrics,
)
from wise_al.loop import Unit
from wise_al.settings import WorkerSettings
from wise_al.systems.labelled import LABEL_ID_KEY

#: Held-out errors averaged over a committee's members.
ERROR_KEYS = (
    "energy_rmse_meV_per_atom",
    "forces_rmse_meV_per_A",
    "stress_rmse_meV_per_A3",
    "stress_rmse_GPa",
)


def evaluate_iteration(
    sessions: Sessions, settings: WorkerSettings, campaign_id: int, iteration_index: int
) -> None:
    """Gather the committee's errors on held-out labels into the iteration's metrics."""
    del settings  # the members measured their errors when they were trained
    with transaction(sessions) as session:
        members = ModelVersionRepository(session).committee(campaign_id, iteration_index)
        trained = [m for m in members if m.status == RunStatus.DONE]
        evaluation: dict[str, object] = {"members": len(trained)}
        for split in ("valid", "test", "external"):
            for key in ERROR_KEYS:
                values = [
                    float(m.metrics["errors"][split][key])
                    for m in trained
                    if m.metrics.get("errors", {}).get(split, {}).get(key) is not None
                ]
                if values:
                    evaluation[f"{split}_{key}"] = fmean(values)
        # the iteration's own new labels the training's outlier filter left out: frames
        # selected past the point where a label can teach anything (a collapsed state)
        iteration = IterationRepository(session).at(campaign_id, iteration_index)
        new = {x.id for x in LabelRepository(session).done_of_iteration(campaign_id, iteration.id)}
        excluded = {
            row.get(LABEL_ID_KEY) for m in trained for row in m.metrics.get("excluded_labels", [])
        }
        evaluation["new_labels"] = len(new)
        evaluation["new_labels_excluded_as_outliers"] = len(new & excluded)
        IterationRepository(session).record(
            campaign_id, iteration_index, **{EVALUATION_KEY: evaluation}
        )


#: The committee of one iteration evaluated (database work only).
EVALUATE = UnitKind(
    Unit.EVALUATE,
    lambda sessions, settings, campaign_id, c: evaluate_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    outcome_in_metrics(EVALUATION_KEY),
    failure_in_metrics(Unit.EVALUATE),
)
