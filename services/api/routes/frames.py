"""Frames of a campaign: filtered pages, one frame (JSON or extxyz), review decisions."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from services.api.deps import ReviewToken, SessionDep
from services.api.params import CampaignId, FrameId, IterationFilter, Offset
from services.api.routes.campaigns import ERROR_RESPONSES, FILE_ERROR_RESPONSES
from services.api.schemas import FrameDetailRead, FrameRead, Page, ReviewRead
from services.worker.dispatch import send_advance
from wise_al.campaign_spec.base import FREE_TEXT_PATTERN
from wise_al.db.models import FrameStatus, Review, ReviewDecision
from wise_al.db.repositories import CampaignRepository, FrameFilter, FrameRepository
from wise_al.systems.structures import extxyz_text, structure_from_dict

router = APIRouter(prefix="/campaigns/{campaign_id}/frames", tags=["frames"])

Sort = Literal["id", "-id", "deviation", "-deviation", "md_step", "-md_step"]


@router.get("", response_model=Page[FrameRead], responses=ERROR_RESPONSES)
def list_frames(
    campaign_id: CampaignId,
    session: SessionDep,
    status: Annotated[FrameStatus | None, Query()] = None,
    flag: Annotated[str | None, Query(max_length=40, description="flag kind")] = None,
    min_deviation: Annotated[float | None, Query(ge=0, le=1e4, description="eV/Å")] = None,
    max_deviation: Annotated[float | None, Query(ge=0, le=1e4, description="eV/Å")] = None,
    iteration: IterationFilter = None,
    sort: Sort = "id",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[FrameRead]:
    """Frames of a campaign, filtered by status, flag kind, deviation range and iteration."""
    CampaignRepository(session).get(campaign_id)
    where = FrameFilter(status, flag, min_deviation, max_deviation, iteration)
    page = FrameRepository(session).page(campaign_id, where, sort, limit, offset)
    return Page[FrameRead].of(page, FrameRead.model_validate)


@router.get("/{frame_id}", response_model=FrameDetailRead, responses=ERROR_RESPONSES)
def get_frame(campaign_id: CampaignId, frame_id: FrameId, session: SessionDep) -> FrameDetailRead:
    """One frame: structure (Å), per-atom deviation, flags, its walker and MD step, reviews."""
    frames = FrameRepository(session)
    frame = frames.in_campaign(campaign_id, frame_id)
    iteration, walker, validation = frames.provenance(frame)
    return FrameDetailRead.model_validate(
        {
            **FrameRead.model_validate(frame).model_dump(),
            "iteration_index": iteration.index,
            "walker_index": walker.walker_index if walker else None,
            "walker_conditions": walker.conditions if walker else None,
            "trajectory_path": walker.trajectory_path
            if walker
            else (validation.trajectory_path if validation else None),
            "validation_iteration_index": validation.iteration_index if validation else None,
            "atom_deviations_eV_per_A": frame.atom_deviations_eV_per_A,
            "member_energies_eV": frame.member_energies_eV,
            "structure": frame.structure,
            "reviews": [ReviewRead.model_validate(r) for r in frames.reviews(frame_id)],
        }
    )


@router.get(
    "/{frame_id}/structure.extxyz",
    response_class=PlainTextResponse,
    responses={**FILE_ERROR_RESPONSES, 200: {"content": {"chemical/x-extxyz": {}}}},
)
def get_frame_extxyz(campaign_id: CampaignId, frame_id: FrameId, session: SessionDep) -> str:
    """One frame as extended XYZ (opens in ASE, OVITO, VMD)."""
    frame = FrameRepository(session).in_campaign(campaign_id, frame_id)
    atoms = structure_from_dict(frame.structure)
    atoms.info.update({"frame_id": frame.id, "md_step": frame.md_step, "status": str(frame.status)})
    if frame.atom_deviations_eV_per_A is not None:
        atoms.arrays["atom_deviation_eV_per_A"] = np.asarray(frame.atom_deviations_eV_per_A)
    return extxyz_text(atoms)


class ReviewCreate(BaseModel):
    """A decision on a selected frame; rejecting needs a reason."""

    decision: ReviewDecision
    reason: str = Field(default="", max_length=2000, pattern=FREE_TEXT_PATTERN)

    @model_validator(mode="after")
    def _reject_says_why(self) -> ReviewCreate:
        if self.decision == ReviewDecision.REJECT and not self.reason.strip():
            raise ValueError("reason: say why the frame is rejected")
        return self


@router.post(
    "/{frame_id}/review", response_model=ReviewRead, status_code=201, responses=ERROR_RESPONSES
)
def review_frame(
    campaign_id: CampaignId,
    frame_id: FrameId,
    body: ReviewCreate,
    token: ReviewToken,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> ReviewRead:
    """Accept or reject a selected frame (409 if it is not selected, reviewed or labelled)."""
    review = record_review(session, request, background, campaign_id, frame_id, token.name, body)
    return ReviewRead.model_validate(review)


def record_review(
    session: Session,
    request: Request,
    background: BackgroundTasks,
    campaign_id: int,
    frame_id: int,
    reviewer: str,
    body: ReviewCreate,
) -> Review:
    """Store a decision and, after the commit, ask the loop to advance (it may be waiting)."""
    review = FrameRepository(session).review(
        campaign_id, frame_id, reviewer, body.decision, body.reason
    )
    background.add_task(send_advance, request.app.state.celery, campaign_id)
    return review
