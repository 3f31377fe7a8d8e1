"""Liveness: the process answers and the database is reachable."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import wise_al
from services.api.schemas import HealthRead
from wise_al.db.engine import ping

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthRead, responses={503: {"model": HealthRead}})
def health(request: Request) -> JSONResponse:
    """200 when the database answers, 503 (with the reason) when it does not."""
    try:
        with request.app.state.session_factory() as session:
            ping(session)
        database, code = "ok", 200
    except Exception as exc:  # any driver error means "not healthy", reported, not raised
        database, code = f"error: {type(exc).__name__}", 503
    body = HealthRead(
        status="ok" if code == 200 else "degraded", version=wise_al.__version__, database=database
    )
    return JSONResponse(body.model_dump(), code)
