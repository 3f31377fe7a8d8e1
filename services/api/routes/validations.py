"""Each iteration's committee judged against experiment: scores, observables, trajectory."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from services.api.deps import SessionDep
from services.api.params import CampaignId, IterationIndex
from services.api.routes.campaigns import ERROR_RESPONSES
from services.api.routes.results import artifact_file
from services.api.schemas import ValidationRead, ValidationSummaryRead
from wise_al.db.repositories import CampaignRepository, ValidationRepository

router = APIRouter(prefix="/campaigns/{campaign_id}/validations", tags=["validation"])


@router.get("", response_model=list[ValidationSummaryRead], responses=ERROR_RESPONSES)
def list_validations(campaign_id: CampaignId, session: SessionDep) -> list[ValidationSummaryRead]:
    """Every validation of a campaign, by iteration: graded scores and scalar observables."""
    CampaignRepository(session).get(campaign_id)
    rows = ValidationRepository(session).of_campaign(campaign_id)
    return [ValidationSummaryRead.of(row) for row in rows]


@router.get("/{iteration}", response_model=ValidationRead, responses=ERROR_RESPONSES)
def get_validation(
    campaign_id: CampaignId, iteration: IterationIndex, session: SessionDep
) -> ValidationRead:
    """One iteration's validation with every observable, curves included."""
    CampaignRepository(session).get(campaign_id)
    return ValidationRead.model_validate(ValidationRepository(session).at(campaign_id, iteration))


@router.get(
    "/{iteration}/trajectory.extxyz", response_class=FileResponse, responses=ERROR_RESPONSES
)
def download_trajectory(
    campaign_id: CampaignId, iteration: IterationIndex, session: SessionDep, request: Request
) -> FileResponse:
    """The validation's production trajectory (extxyz), with its SHA-256 in a header."""
    row = ValidationRepository(session).at(campaign_id, iteration)
    path = artifact_file(request, row.trajectory_path, f"the trajectory of iteration {iteration}")
    return FileResponse(
        path,
        media_type="chemical/x-extxyz",
        filename=f"campaign{campaign_id}-iteration{iteration}-validation.extxyz",
        headers={"X-Content-SHA256": row.trajectory_sha256 or ""},
    )
