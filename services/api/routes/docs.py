"""``/docs``: Swagger UI served from the app's own copy (npm's swagger-ui-dist), no CDN."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} – API</title>
  <link rel="stylesheet" href="/static/vendor/swagger-ui.css">
  <script src="/static/vendor/swagger-ui-bundle.js" defer></script>
  <script src="/static/dashboard/swagger-init.js" defer></script>
</head>
<body><div id="swagger-ui" data-openapi="{openapi}"></div></body>
</html>
"""


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API reference."""
    return HTMLResponse(_PAGE.format(title=request.app.title, openapi=request.app.openapi_url))
