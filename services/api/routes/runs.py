"""Running a campaign: start, pause, resume, cancel; its iterations and task runs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request

from services.api.deps import OperateToken, SessionDep
from services.api.params import CampaignId, Offset
from services.api.routes.campaigns import ERROR_RESPONSES
from services.api.schemas import CampaignRead, IterationRead, Page, TaskRunRead
from services.worker.dispatch import send_advance, send_runs
from wise_al.campaign_spec import CampaignSpec
from wise_al.campaign_spec.model import MACE_FOUNDATION_NAMES
from wise_al.db.models import Campaign, RunStatus
from wise_al.db.repositories import CampaignRepository, IterationRepository, TaskRunRepository
from wise_al.errors import ConflictError

router = APIRouter(prefix="/campaigns", tags=["runs"])

Action = Literal["start", "pause", "resume", "cancel"]


def check_runnable(request: Request, campaign: Campaign) -> None:
    """Refuse what the workers could only fail on, before anything is queued."""
    spec = CampaignSpec.model_validate(campaign.spec)
    home = request.app.state.settings.home
    foundation = spec.model.foundation
    if foundation and foundation not in MACE_FOUNDATION_NAMES and not (home / foundation).is_file():
        raise ConflictError(
            f"model.foundation: {foundation} is not a file under WISE_AL_HOME ({home}); "
            "build it (wise-al models build-demo-foundation) or copy it there"
        )
    training = spec.model.training
    for field, path, how in (
        ("external_test_set", training.external_test_set, "wise-al reference-md makes one"),
        ("replay_data", training.replay_data, "copy it there"),
    ):
        if path is not None and not (home / path).is_file():
            raise ConflictError(
                f"model.training.{field}: {path} is not a file under WISE_AL_HOME ({home}); {how}"
            )


@router.post("/{campaign_id}/{action}", response_model=CampaignRead, responses=ERROR_RESPONSES)
def control_campaign(
    campaign_id: CampaignId,
    action: Action,
    token: OperateToken,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> CampaignRead:
    """Start, pause, resume or cancel (409 when the action does not apply to its status).

    Resume also sends again every unit that was queued or running: after a restart, this
    is how lost messages are recovered (units already done are skipped by the workers).
    """
    campaigns = CampaignRepository(session)
    if action == "start":
        check_runnable(request, campaigns.get(campaign_id))
    campaign = campaigns.control(campaign_id, action, by=token.name)
    celery = request.app.state.celery
    # sent after the response, so after the commit: a worker never reads the old status
    if action == "resume":
        background.add_task(send_runs, celery, TaskRunRepository(session).unfinished(campaign_id))
    if action in ("start", "resume"):
        background.add_task(send_advance, celery, campaign_id)
    return CampaignRead.from_row(campaign)


@router.get(
    "/{campaign_id}/iterations", response_model=list[IterationRead], responses=ERROR_RESPONSES
)
def list_iterations(campaign_id: CampaignId, session: SessionDep) -> list[IterationRead]:
    """Every iteration of a campaign, oldest first, with phase and metrics."""
    CampaignRepository(session).get(campaign_id)
    rows = IterationRepository(session).of_campaign(campaign_id)
    return [IterationRead.model_validate(row) for row in rows]


@router.get("/{campaign_id}/task-runs", response_model=Page[TaskRunRead], responses=ERROR_RESPONSES)
def list_task_runs(
    campaign_id: CampaignId,
    session: SessionDep,
    status: Annotated[RunStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[TaskRunRead]:
    """Units of work of a campaign, oldest first, optionally of one status."""
    CampaignRepository(session).get(campaign_id)
    page = TaskRunRepository(session).page(campaign_id, status, limit, offset)
    return Page[TaskRunRead].of(page, TaskRunRead.model_validate)
