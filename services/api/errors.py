"""Translate core errors into HTTP responses: one readable ``message`` plus ``detail``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wise_al.errors import AuthError, ConflictError, NotFoundError, SpecError, WiseAlError
from wise_al.spec.io import describe_errors

logger = logging.getLogger("wise_al.api")

_STATUS = {
    NotFoundError: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    AuthError: status.HTTP_401_UNAUTHORIZED,
    SpecError: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def _spec_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpecError)
    detail = [{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]
    return JSONResponse(
        {"message": str(exc), "detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def _core_error(_: Request, exc: Exception) -> JSONResponse:
    code = next((c for t, c in _STATUS.items() if isinstance(exc, t)), 400)
    return JSONResponse({"message": str(exc), "detail": str(exc)}, code)


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"message": str(exc.detail), "detail": exc.detail},
        exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _request_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse(
        {"message": describe_errors(errors), "detail": errors},
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


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
