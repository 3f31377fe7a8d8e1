"""Datasets: upload (multipart, streamed, size-limited), list, read, download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from fastapi import Path as FastApiPath
from fastapi.responses import FileResponse

from services.api.deps import OperateToken, SessionDep
from services.api.routes.campaigns import ERROR_RESPONSES
from services.api.routes.results import artifact_file
from services.api.schemas import DatasetPage, DatasetRead
from wise_al.db.repositories import DatasetRepository
from wise_al.jobs.datasets import store_dataset
from wise_al.spec.dataset import DatasetSpec
from wise_al.spec.io import decode_json_text, parse_model

router = APIRouter(prefix="/datasets", tags=["datasets"])
DatasetId = Annotated[int, FastApiPath(ge=1, le=2**31 - 1)]


@router.post("", response_model=DatasetRead, responses=ERROR_RESPONSES)
def upload_dataset(
    token: OperateToken,
    session: SessionDep,
    request: Request,
    response: Response,
    metadata: Annotated[str, Form(description="DatasetSpec as JSON: name, kind, level")],
    file: Annotated[UploadFile, File(description="extxyz; labels under REF_* keys")],
) -> DatasetRead:
    """Check every frame of an extxyz and store it (201), or refuse it naming the frame and
    field (422); the same name and content again returns the stored dataset (200)."""
    spec = parse_model(DatasetSpec, decode_json_text(metadata.encode(), source="metadata"))
    row, new = store_dataset(
        session, request.app.state.settings, spec, file.file, created_by=token.name
    )
    response.status_code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
    return DatasetRead.model_validate(row)


@router.get("", response_model=DatasetPage)
def list_datasets(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> DatasetPage:
    """Uploaded datasets, newest first."""
    page = DatasetRepository(session).page(limit, offset)
    items = [DatasetRead.model_validate(d) for d in page.items]
    return DatasetPage(items=items, total=page.total, limit=page.limit, offset=page.offset)


@router.get("/{dataset_id}", response_model=DatasetRead, responses=ERROR_RESPONSES)
def get_dataset(dataset_id: DatasetId, session: SessionDep) -> DatasetRead:
    """One dataset."""
    return DatasetRead.model_validate(DatasetRepository(session).get(dataset_id))


@router.get("/{dataset_id}/file", response_class=FileResponse, responses=ERROR_RESPONSES)
def download_dataset(dataset_id: DatasetId, session: SessionDep, request: Request) -> FileResponse:
    """The uploaded file as stored, with its SHA-256 in a header."""
    row = DatasetRepository(session).get(dataset_id)
    path = artifact_file(request, row.file_path, f"dataset {row.name}")
    return FileResponse(
        path,
        media_type="chemical/x-extxyz",
        filename=f"{row.name}.extxyz",
        headers={"X-Content-SHA256": row.sha256},
    )
