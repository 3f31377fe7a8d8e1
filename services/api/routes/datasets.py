"""Datasets: upload (multipart, streamed, size-limited), list, read, download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile as StarletteUpload

from services.api.deps import OperateToken, SessionDep
from services.api.params import DatasetId, Offset
from services.api.routes.campaigns import ERROR_RESPONSES
from services.api.routes.results import artifact_file
from services.api.schemas import DatasetRead, Page
from wise_al.campaign_spec.dataset import DatasetSpec
from wise_al.campaign_spec.io import decode_json_text, parse_model
from wise_al.db.repositories import DatasetRepository
from wise_al.errors import SpecError
from wise_al.jobs.datasets import store_dataset

router = APIRouter(prefix="/datasets", tags=["datasets"])


#: Largest ``metadata`` part: a level record and a confirmation are a few kB.
MAX_METADATA_BYTES = 262_144
#: The multipart body, documented by hand: the route reads it itself, after the token.
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["metadata", "file"],
                    "properties": {
                        "metadata": {
                            "type": "string",
                            "maxLength": MAX_METADATA_BYTES,
                            "description": "DatasetSpec as JSON: name, kind, level",
                        },
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "extxyz; labels under REF_* keys",
                        },
                    },
                }
            }
        },
    }
}


def _missing(field: str, what: str) -> SpecError:
    return SpecError(f"{field}: missing ({what})", [{"loc": [field], "msg": f"missing ({what})"}])


@router.post(
    "",
    response_model=DatasetRead,
    status_code=status.HTTP_201_CREATED,
    responses=ERROR_RESPONSES,
    openapi_extra=UPLOAD_BODY,
)
async def upload_dataset(
    token: OperateToken, session: SessionDep, request: Request, response: Response
) -> DatasetRead:
    """Check every frame of an extxyz and store it (201), or refuse it naming the frame and
    field (422); the same name and content again returns the stored dataset (200).

    The body is read only once the token is checked; the check runs in a child process
    with a deadline and a memory limit, so no file can stall the server."""
    async with request.form(max_files=1, max_fields=1, max_part_size=MAX_METADATA_BYTES) as form:
        metadata, file = form.get("metadata"), form.get("file")
        if not isinstance(metadata, str):
            raise _missing("metadata", "a form field holding the DatasetSpec as JSON")
        if not isinstance(file, StarletteUpload):
            raise _missing("file", "a file part holding the extxyz")
        spec = parse_model(DatasetSpec, decode_json_text(metadata, source="metadata"))
        settings = request.app.state.settings
        row, new = await run_in_threadpool(
            store_dataset, session, settings, spec, file.file, created_by=token.name
        )
        response.status_code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
        return DatasetRead.model_validate(row)


@router.get("", response_model=Page[DatasetRead])
def list_datasets(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[DatasetRead]:
    """Uploaded datasets, newest first."""
    page = DatasetRepository(session).page(limit, offset)
    return Page[DatasetRead].of(page, DatasetRead.model_validate)


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
