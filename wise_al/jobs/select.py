"""Select an iteration's frames for labelling: window or flags, de-duplicated, diverse;
the previous committee's validation frames compete with the walkers' under one budget."""

from __future__ import annotations

from collections import Counter

import numpy as np

from wise_al.db.engine import transaction
from wise_al.db.models import FrameStatus, LabelProvenance
from wise_al.db.repositories import FrameRepository, IterationRepository, LabelRepository
from wise_al.jobs.calibrate import sigma_scale
from wise_al.jobs.unit import (
    Sessions,
    UnitKind,
    failure_in_metrics,
    outcome_in_metrics,
    spec_of,
)
from wise_al.loop import Unit
from wise_al.selection import Candidate, select_frames
from wise_al.selection.adaptive import adapted_trust_lo
from wise_al.settings import CoreSettings

#: Where an iteration's metrics hold the number of frames selected (its outcome).
SELECTED_KEY = "selected"


def select_iteration(
    sessions: Sessions, settings: CoreSettings, campaign_id: int, iteration_index: int
) -> None:
    """Mark the chosen frames selected, keep every decision's reason, record the count.

    The campaign's label budget counts CP2K labels only: imported ones cost no DFT here.
    """
    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
        iterations = IterationRepository(session)
        iteration = iterations.at(campaign_id, iteration_index, for_update=True)
        if SELECTED_KEY in iteration.metrics:
            return  # selected already: a repeated task changes nothing
        repository = FrameRepository(session)
        adopted = 0
        if iteration_index > 0:  # the last committee's validation MD: judged by this one
            adopted = repository.adopt_validation_frames(
                campaign_id, iteration_index - 1, iteration.id
            )
        frames = {f.id: f for f in repository.of_iteration(iteration.id)}
        scale = sigma_scale(session, campaign_id, iteration_index)
        judged = any(f.max_deviation_eV_per_A is not None for f in frames.values())
        candidates = [
            Candidate(
                index=f.id,
                max_deviation_eV_per_A=scale * (f.max_deviation_eV_per_A or 0.0),
                flags=tuple(sorted({flag.kind for flag in f.flags})),
                descriptor=np.asarray(f.descriptor, dtype=float),
                time=(f.walker_run_id or 0, f.md_step),
                source=str(f.source),
                onset_of_step=f.onset_of_step,
            )
            for f in frames.values()
        ]
        labelled = LabelRepository(session).count_done(campaign_id, provenance=LabelProvenance.CP2K)
        left = max(spec.stopping.max_labels - labelled, 0)
        window, adapted = spec.uncertainty, None
        share = window.adaptive_candidate_share
        if judged and share is not None:
            scores = [c.max_deviation_eV_per_A for c in candidates if not c.urgent]
            adapted = adapted_trust_lo(scores, window.trust_hi_eV_per_A, share)
            window = window.model_copy(update={"trust_lo_eV_per_A": adapted})
        decisions = select_frames(candidates, spec.selection, window if judged else None, left)
        for decision in decisions:
            frame = frames[decision.index]
            frame.selection_reason = decision.reason
            if decision.selected:
                frame.status = FrameStatus.SELECTED
        chosen = sum(d.selected for d in decisions)
        iterations.record(
            campaign_id,
            iteration_index,
            selected=chosen,
            candidates=len(frames),
            sigma_scale=scale,
            trust_lo_adapted_eV_per_A=adapted,
            validation_candidates=adopted,
            selected_by_source=dict(
                Counter(str(frames[d.index].source) for d in decisions if d.selected)
            ),
            selected_onset=sum(
                d.selected and frames[d.index].onset_of_step is not None for d in decisions
            ),
        )


#: Selection of one iteration's frames: database work; the count lands in the metrics.
SELECT = UnitKind(
    Unit.SELECT,
    lambda sessions, settings, campaign_id, c: select_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    outcome_in_metrics(SELECTED_KEY),
    failure_in_metrics(Unit.SELECT),
)
