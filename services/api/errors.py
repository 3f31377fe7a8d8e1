"""Translate core errors into HTTP responses: one readable ``message`` plus ``detail``.

Every message and detail passes through :func:`wise_al.errors.clip`: errors quote input, and
an answer must never be as large as the request that caused it.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from wise_al.campaign_spec.io import describe_errors
from wise_al.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    SpecError,
    WiseAlError,
    clip,
    clip_errors,
)

logger = logging.getLogger("wise_al.api")

_STATUS = {
    NotFoundError: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    AuthError: status.HTTP_401_UNAUTHORIZED,
    SpecError: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def _respond(
    request: Request,
    message: str,
    detail: object,
    code: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """JSON for API clients; the dashboard's error page for a browser on a page."""
    message = clip(message)
    detail = clip_errors(detail) if isinstance(detail, list) else clip(detail)
    html_error = getattr(request.app.state, "html_error", None)
    browser = "text/html" in request.headers.get("accept", "")
    if html_error is not None and browser and not request.url.path.startswith("/api/"):
        response: Response = html_error(request, code, message)
        return response
    return JSONResponse({"message": message, "detail": detail}, code, headers=headers)


def _spec_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpecError)
    detail = clip_errors([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors])
    return JSONResponse(
        {"message": clip(exc), "detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def _core_error(request: Request, exc: Exception) -> Response:
    code = next((c for t, c in _STATUS.items() if isinstance(exc, t)), 400)
    return _respond(request, str(exc), str(exc), code)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    return _respond(request, str(exc.detail), exc.detail, exc.status_code, headers)


def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = clip_errors(
        [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    )
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    return _respond(request, describe_errors(errors), errors, code)


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not bad input: log it with the traceback (never the request headers) and
    # answer in the same JSON shape as every other error.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "internal error: the server logged the details"
    return JSONResponse({"message": message, "detail": type(exc).__name__}, 500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(SpecError, _spec_error)
    app.add_exception_handler(WiseAlError, _core_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_error)
