"""Calibrate the committee that explored an iteration against the labels it asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from wise_al.db.engine import transaction
from wise_al.db.repositories import (
    FrameRepository,
    IterationRepository,
    LabelRepository,
    ModelVersionRepository,
)
from wise_al.jobs.unit import Resource, Sessions, UnitKind, outcome_in_metrics, spec_of
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings
from wise_al.systems.structures import structure_from_dict

CALIBRATION_KEY = "calibration"


def calibrate_iteration(
    sessions: Sessions,
    settings: WorkerSettings,
    campaign_id: int,
    iteration_index: int,
) -> None:
    """Record how the exploring committee's deviation compares with its true error.

    The committee is the one that drove this iteration's walkers (trained before it); the
    labels are this iteration's, which it has never been trained on. Recorded once in the
    iteration's metrics under ``calibration``; a repeated task changes nothing.
    """
    from wise_al.calibration import calibrate
    from wise_al.mace.committee import Committee

    with transaction(sessions) as session:
        iteration = IterationRepository(session).at(campaign_id, iteration_index)
        if CALIBRATION_KEY in (iteration.metrics or {}):
            return
        spec = spec_of(session, campaign_id)
        members = ModelVersionRepository(session).latest_committee(campaign_id, iteration_index)
        model_files = [Path(str(m.file_path)) for m in members]
        committee_iteration = members[0].iteration_index if members else None
        labels = LabelRepository(session).done_of_iteration(campaign_id, iteration.id)
        rows = FrameRepository(session).by_id([x.frame_id for x in labels])
        frames = [structure_from_dict(rows[x.frame_id].structure) for x in labels]
        truth = [np.asarray(x.forces_eV_per_A, dtype=float) for x in labels]
    if len(model_files) < 2 or not frames:
        record: dict[str, object] = {
            "status": "skipped",
            "reason": "no committee of two or more members explored this iteration"
            if len(model_files) < 2
            else "no successful label this iteration",
        }
    else:
        device = spec.exploration.device if spec.exploration.device != "auto" else settings.device
        prediction = Committee(model_files, device=device).predict(frames)
        window = spec.uncertainty
        result = calibrate(
            prediction.forces_eV_per_A, truth, window.trust_lo_eV_per_A, window.trust_hi_eV_per_A
        )
        record = {"status": "done", "committee_iteration": committee_iteration, **result.to_dict()}
    with transaction(sessions) as session:
        IterationRepository(session).record(
            campaign_id, iteration_index, **{CALIBRATION_KEY: record}
        )


def _calibration_failed(session: Session, campaign_id: int, command: Command, error: str) -> None:
    # the loop goes on without it: an uncalibrated committee just cannot converge
    failed = {"status": "failed", "reason": error}
    IterationRepository(session).record(campaign_id, command.iteration, **{CALIBRATION_KEY: failed})


#: The exploring committee against this iteration's new labels (MACE inference).
CALIBRATE = UnitKind(
    Unit.CALIBRATE,
    Resource.GPU,
    lambda sessions, settings, campaign_id, c: calibrate_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    outcome_in_metrics(CALIBRATION_KEY),
    _calibration_failed,
)
