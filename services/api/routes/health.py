"""Readiness: the process answers, the database is reachable and at the code's schema."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import wise_al
from services.api.schemas import HealthRead
from wise_al.db.engine import ping
from wise_al.db.migrate import session_revision

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthRead, responses={503: {"model": HealthRead}})
def health(request: Request) -> JSONResponse:
    """200 when the database answers at the code's schema, 503 (with the reason) otherwise."""
    head = request.app.state.schema_head
    try:
        with request.app.state.session_factory() as session:
            ping(session)
            current = session_revision(session)
        database, code = "ok", 200
        if current != head:  # migrated back, or by another release, since the app started
            database, code = f"schema at {current or 'nothing'}, code expects {head}", 503
    except Exception as exc:  # any driver error means "not healthy", reported, not raised
        database, code = f"error: {type(exc).__name__}", 503
    body = HealthRead(
        status="ok" if code == 200 else "degraded", version=wise_al.__version__, database=database
    )
    return JSONResponse(body.model_dump(), code)
