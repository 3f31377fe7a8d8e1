"""Select an iteration's frames for labelling: window or flags, de-duplicated, diverse."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from wise_al.db.engine import transaction
from wise_al.db.models import Frame, FrameStatus
from wise_al.db.repositories import CampaignRepository, LabelRepository
from wise_al.jobs.advance import campaign_spec
from wise_al.jobs.snapshot import iteration_at
from wise_al.selection import Candidate, select_frames
from wise_al.settings import CoreSettings


def select_iteration(
    sessions: sessionmaker[Session], settings: CoreSettings, campaign_id: int, iteration_index: int
) -> None:
    """Mark the chosen frames selected, keep every decision's reason, record the count."""
    with transaction(sessions) as session:
        spec = campaign_spec(CampaignRepository(session).get(campaign_id))
        iteration = iteration_at(session, campaign_id, iteration_index, for_update=True)
        if "selected" in iteration.metrics:
            return  # selected already: a repeated task changes nothing
        frames = {
            f.id: f
            for f in session.scalars(
                select(Frame)
                .where(Frame.iteration_id == iteration.id)
                .options(selectinload(Frame.flags))
            )
        }
        judged = any(f.max_deviation_eV_per_A is not None for f in frames.values())
        candidates = [
            Candidate(
                index=f.id,
                max_deviation_eV_per_A=f.max_deviation_eV_per_A or 0.0,
                flags=tuple(sorted({flag.kind for flag in f.flags})),
                descriptor=np.asarray(f.descriptor, dtype=float),
            )
            for f in frames.values()
        ]
        labelled = LabelRepository(session).count_done(campaign_id)
        left = max(spec.stopping.max_labels - labelled, 0)
        decisions = select_frames(
            candidates, spec.selection, spec.uncertainty if judged else None, budget=left
        )
        for decision in decisions:
            frame = frames[decision.index]
            frame.selection_reason = decision.reason
            if decision.selected:
                frame.status = FrameStatus.SELECTED
        chosen = sum(d.selected for d in decisions)
        iteration.metrics = {**iteration.metrics, "selected": chosen, "candidates": len(frames)}
