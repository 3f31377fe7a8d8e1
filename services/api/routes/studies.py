"""Studies: create (a base spec and variants, one draft campaign each), start, compare, CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from services.api.deps import OperateToken, SessionDep
from services.api.params import Offset, StudyId
from services.api.routes.campaigns import ERROR_RESPONSES, FILE_ERROR_RESPONSES, spec_body
from services.api.routes.runs import check_runnable
from services.api.schemas import Page, StudyRead, StudySummaryRead
from services.worker.dispatch import send_advance
from wise_al.campaign_spec.io import parse_model
from wise_al.campaign_spec.study import StudySpec
from wise_al.db.models import CampaignStatus, Study
from wise_al.db.repositories import CampaignRepository, StudyRepository
from wise_al.jobs.studies import compare_study, comparison_csv, create_study

router = APIRouter(prefix="/studies", tags=["studies"])


def _read(session: Session, study: Study) -> StudyRead:
    rows = compare_study(session, study.id)
    return StudyRead(
        id=study.id,
        name=study.name,
        created_by=study.created_by,
        created_at=study.created_at,
        spec=study.spec,
        variants=[r.flat() for r in rows],
    )


_STUDY_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"$ref": "#/components/schemas/StudySpec"}}
            for media in ("application/json", "application/yaml")
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StudyRead,
    responses=ERROR_RESPONSES,
    openapi_extra=_STUDY_REQUEST,
)
def submit_study(
    token: OperateToken, session: SessionDep, body: Annotated[object, Depends(spec_body)]
) -> StudyRead:
    """Validate a study (every variant's spec) and store it with one draft campaign per
    variant and seed; an invalid variant writes nothing (422 naming it and the field)."""
    spec = parse_model(StudySpec, body, what="study")
    return _read(session, create_study(session, spec, created_by=token.name))


@router.get("", response_model=Page[StudySummaryRead])
def list_studies(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[StudySummaryRead]:
    """Studies, newest first."""
    page = StudyRepository(session).page(limit, offset)
    return Page[StudySummaryRead].of(page, StudySummaryRead.model_validate)


@router.get("/{study_id}", response_model=StudyRead, responses=ERROR_RESPONSES)
def get_study(study_id: StudyId, session: SessionDep) -> StudyRead:
    """A study with its variants side by side: labels, errors, calibration, observables,
    cost, and each variant's learning curve."""
    return _read(session, StudyRepository(session).get(study_id))


@router.get(
    "/{study_id}/comparison.csv", response_class=PlainTextResponse, responses=FILE_ERROR_RESPONSES
)
def study_csv(study_id: StudyId, session: SessionDep) -> PlainTextResponse:
    """The comparison table as CSV, one row per campaign."""
    text = comparison_csv(compare_study(session, study_id))
    headers = {"Content-Disposition": f'attachment; filename="study-{study_id}.csv"'}
    return PlainTextResponse(text, media_type="text/csv", headers=headers)


@router.post("/{study_id}/start", response_model=StudyRead, responses=ERROR_RESPONSES)
def start_study(
    study_id: StudyId,
    token: OperateToken,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> StudyRead:
    """Start every campaign of the study still a draft (each checked as a single start is)."""
    study = StudyRepository(session).get(study_id)
    campaigns = CampaignRepository(session)
    drafts = [
        c for c in StudyRepository(session).campaigns(study_id) if c.status == CampaignStatus.DRAFT
    ]
    for campaign in drafts:
        check_runnable(request, campaign)
    for campaign in drafts:
        campaigns.control(campaign.id, "start", by=token.name)
        background.add_task(send_advance, request.app.state.celery, campaign.id)
    return _read(session, study)
