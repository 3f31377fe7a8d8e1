"""Calibrate the committee that explored an iteration against the labels it asked for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from wise_al.campaign_spec.exploration import UncertaintySpec
from wise_al.db.engine import transaction
from wise_al.db.repositories import (
    FrameRepository,
    IterationRepository,
    LabelRepository,
    ModelVersionRepository,
)
from wise_al.jobs.outcomes import CALIBRATION_KEY
from wise_al.jobs.unit import Sessions, UnitKind, outcome_in_metrics, spec_of
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings
from wise_al.systems.structures import structure_from_dict
from wise_al.uncertainty import FrameClass, classify_deviation

#: Bounds of the factor a calibration may scale the deviation by (a slope of 0 or 1e6
#: from a handful of labels is noise, not a measurement).
SCALE_LIMITS = (0.01, 1000.0)


def sigma_scale(session: Session, campaign_id: int, before: int) -> float:
    """What the deviation of the committee exploring iteration ``before`` is multiplied by
    before the trust window applies (``uncertainty.rescale: calibration``): the slope of
    the newest calibration done before that iteration, the best estimate of how far the
    campaign's committees under- or over-state their error; 1 without one.
    """
    spec = spec_of(session, campaign_id)
    if spec.uncertainty.rescale != "calibration":
        return 1.0
    for metrics in IterationRepository(session).metrics_before(campaign_id, before):
        found = metrics.get(CALIBRATION_KEY) or {}
        if found.get("status") == "done" and found.get("slope"):
            return float(np.clip(found["slope"], *SCALE_LIMITS))
    return 1.0


def frame_classes(
    max_deviations_eV_per_A: list[float], scale: float, window: UncertaintySpec
) -> dict[str, int]:
    """How many frames fall in each class of the window, their deviation scaled."""
    classes = Counter(
        str(classify_deviation(scale * d, window.trust_lo_eV_per_A, window.trust_hi_eV_per_A))
        for d in max_deviations_eV_per_A
    )
    return {str(c): classes.get(str(c), 0) for c in FrameClass}


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
        scale = sigma_scale(session, campaign_id, iteration_index)
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
        record = {
            "status": "done",
            "committee_iteration": committee_iteration,
            **result.to_dict(),
            "uncalibrated_because": result.verdict(
                window.min_rank_correlation, window.max_slope_factor
            ),
            # the labelled frames by class, as the window saw them (deviation scaled)
            "sigma_scale": scale,
            "classes": frame_classes(result.predicted_max_eV_per_A, scale, window),
        }
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
    lambda sessions, settings, campaign_id, c: calibrate_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    outcome_in_metrics(CALIBRATION_KEY),
    _calibration_failed,
)
