"""Evaluate an iteration's committee: its members' held-out errors, averaged."""

from __future__ import annotations

from statistics import fmean

from sqlalchemy.orm import Session

from wise_al.db.engine import transaction
from wise_al.db.models import RunStatus
from wise_al.db.repositories import IterationRepository, ModelVersionRepository
from wise_al.jobs.unit import Resource, Sessions, UnitKind
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings

#: Where an iteration's metrics hold its committee's evaluation (the unit's outcome).
EVALUATION_KEY = "evaluation"
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
        IterationRepository(session).record(
            campaign_id, iteration_index, **{EVALUATION_KEY: evaluation}
        )


def _evaluated(session: Session, campaign_id: int, command: Command) -> bool:
    metrics = IterationRepository(session).at(campaign_id, command.iteration).metrics or {}
    return EVALUATION_KEY in metrics


def _evaluation_failed(session: Session, campaign_id: int, command: Command, error: str) -> None:
    IterationRepository(session).record_failure(
        campaign_id, command.iteration, Unit.EVALUATE, error
    )


#: The committee of one iteration evaluated (database work only).
EVALUATE = UnitKind(
    Unit.EVALUATE,
    Resource.CPU,
    lambda sessions, settings, campaign_id, c: evaluate_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    _evaluated,
    _evaluation_failed,
)
