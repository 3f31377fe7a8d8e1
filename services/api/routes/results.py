"""What a campaign produced: labels, model versions (with download), the dataset as extxyz."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse

from services.api.deps import SessionDep
from services.api.params import CampaignId, ModelVersionId, Offset
from services.api.routes.campaigns import ERROR_RESPONSES, FILE_ERROR_RESPONSES
from services.api.schemas import LabelRead, ModelVersionRead
from wise_al.db.models import RunStatus
from wise_al.db.repositories import (
    CampaignRepository,
    FrameRepository,
    LabelRepository,
    ModelVersionRepository,
)
from wise_al.errors import NotFoundError
from wise_al.systems.labelled import labelled_frame
from wise_al.systems.structures import extxyz_text, structure_from_dict

router = APIRouter(prefix="/campaigns/{campaign_id}", tags=["results"])


@router.get("/labels", response_model=list[LabelRead], responses=ERROR_RESPONSES)
def list_labels(
    campaign_id: CampaignId,
    session: SessionDep,
    status: Annotated[RunStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[LabelRead]:
    """Labels of a campaign's frames with their provenance, oldest first."""
    CampaignRepository(session).get(campaign_id)
    page = LabelRepository(session).page(campaign_id, status, limit, offset)
    return [LabelRead.model_validate(r) for r in page.items]


@router.get("/models", response_model=list[ModelVersionRead], responses=ERROR_RESPONSES)
def list_models(campaign_id: CampaignId, session: SessionDep) -> list[ModelVersionRead]:
    """Every committee member of every iteration, with errors and training-set hash."""
    CampaignRepository(session).get(campaign_id)
    rows = ModelVersionRepository(session).for_campaign(campaign_id)
    return [ModelVersionRead.model_validate(r) for r in rows]


def artifact_file(request: Request, path: str | None, what: str) -> Path:
    """A file of the artifact store named by a row; 404 for anything outside the store."""
    store = request.app.state.settings.resolved_artifact_dir().resolve()
    resolved = Path(path).resolve() if path else None
    # only files of the artifact store are ever served, whatever a row says
    if resolved is None or not resolved.is_relative_to(store) or not resolved.is_file():
        raise NotFoundError(f"{what} is not in the artifact store")
    return resolved


@router.get("/models/{version_id}/download", response_class=FileResponse, responses=ERROR_RESPONSES)
def download_model(
    campaign_id: CampaignId,
    version_id: ModelVersionId,
    session: SessionDep,
    request: Request,
) -> FileResponse:
    """The member's ``.model`` file (torch.save'd MACE model), with its SHA-256 in a header."""
    version = ModelVersionRepository(session).in_campaign(campaign_id, version_id)
    path = artifact_file(request, version.file_path, f"the file of model version {version_id}")
    iteration, member = version.iteration_index, version.member_index
    name = f"campaign{campaign_id}-iteration{iteration}-member{member}.model"
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=name,
        headers={"X-Content-SHA256": version.file_sha256 or ""},
    )


@router.get(
    "/dataset.extxyz",
    response_class=PlainTextResponse,
    responses={**FILE_ERROR_RESPONSES, 200: {"content": {"chemical/x-extxyz": {}}}},
)
def export_dataset(
    campaign_id: CampaignId,
    session: SessionDep,
    level_sha256: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
) -> str:
    """Every successful label as extxyz (``REF_energy``, ``REF_forces``, ``REF_stress``).

    One level of theory per file: a campaign holding several needs ``level_sha256`` (409).
    """
    CampaignRepository(session).get(campaign_id)
    labels = LabelRepository(session).for_training(campaign_id, level_sha256)
    frames = FrameRepository(session).by_id([x.frame_id for x in labels])
    written = []
    for label in labels:
        frame = frames[label.frame_id]
        atoms = labelled_frame(
            structure_from_dict(frame.structure),
            float(label.energy_eV or 0.0),
            label.forces_eV_per_A,
            label.stress_eV_per_A3,
            label.level_sha256,
        )
        atoms.info.update({"frame_id": frame.id, "label_id": label.id})
        written.append(atoms)
    return extxyz_text(written)
