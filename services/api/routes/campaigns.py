"""Campaigns: create (validated spec), list, get, get spec, delete a draft."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from services.api.deps import OperateToken, SessionDep
from services.api.params import CampaignId, Offset
from services.api.schemas import CampaignRead, ErrorRead, Page
from wise_al.campaign_spec import CampaignSpec, parse_spec
from wise_al.campaign_spec.io import decode_json_text, decode_spec_text
from wise_al.db.models import CampaignStatus
from wise_al.db.repositories import CampaignRepository, DatasetRepository

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

#: Every error an operation may answer, each with the one error body (``message``, ``detail``).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorRead, "description": "a control character in the URL"},
    401: {"model": ErrorRead},
    403: {"model": ErrorRead, "description": "the token lacks the scope"},
    404: {"model": ErrorRead},
    409: {"model": ErrorRead},
    413: {"model": ErrorRead},
    422: {"model": ErrorRead},
}

#: The same errors for an operation whose success is a file (text): FastAPI would document
#: them under the file's media type, but errors are JSON whatever the route returns.
FILE_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": value.get("description", "error"),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorRead"}}},
    }
    for code, value in ERROR_RESPONSES.items()
}

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


async def spec_body(request: Request) -> object:
    """The decoded request body: JSON, or YAML when the content type says so."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0]
    if content_type.strip().lower() in _YAML_TYPES:
        return decode_spec_text(raw, source="body")
    return decode_json_text(raw, source="body")


_SPEC_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CampaignSpec"}},
            "application/yaml": {"schema": {"$ref": "#/components/schemas/CampaignSpec"}},
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CampaignRead,
    responses=ERROR_RESPONSES,
    openapi_extra=_SPEC_REQUEST,
)
def create_campaign(
    token: OperateToken, session: SessionDep, body: Annotated[object, Depends(spec_body)]
) -> CampaignRead:
    """Validate a campaign spec and store it as a draft. Invalid specs write nothing (422).

    Datasets the spec names must be uploaded already, of the right kind and level.
    """
    spec = parse_spec(body)
    DatasetRepository(session).named_in(spec)
    campaign = CampaignRepository(session).create(spec, created_by=token.name)
    return CampaignRead.from_row(campaign)


@router.get("", response_model=Page[CampaignRead])
def list_campaigns(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
    status_: Annotated[CampaignStatus | None, Query(alias="status")] = None,
) -> Page[CampaignRead]:
    """Campaigns, newest first, one page at a time."""
    page = CampaignRepository(session).list(limit=limit, offset=offset, status=status_)
    return Page[CampaignRead].of(page, CampaignRead.from_row)


#: Campaign ids are 32-bit on every backend; larger numbers cannot name a row.


@router.get("/{campaign_id}", response_model=CampaignRead, responses=ERROR_RESPONSES)
def get_campaign(campaign_id: CampaignId, session: SessionDep) -> CampaignRead:
    """One campaign."""
    return CampaignRead.from_row(CampaignRepository(session).get(campaign_id))


@router.get(
    "/{campaign_id}/spec",
    responses={**ERROR_RESPONSES, 200: {"model": CampaignSpec, "description": "the stored spec"}},
)
def get_campaign_spec(campaign_id: CampaignId, session: SessionDep) -> JSONResponse:
    """The campaign's spec as stored, every default filled in.

    Returned as stored, not re-validated: a spec accepted by an older version stays readable.
    """
    return JSONResponse(CampaignRepository(session).get(campaign_id).spec)


@router.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERROR_RESPONSES)
def delete_campaign(_: OperateToken, campaign_id: CampaignId, session: SessionDep) -> Response:
    """Delete a campaign that is still a draft (409 once it has started)."""
    CampaignRepository(session).delete_draft(campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
