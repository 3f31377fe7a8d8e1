"""``/docs``: Swagger UI served from the app's own copy (npm's swagger-ui-dist), no CDN;
and the request bodies routes read themselves, added to the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

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


def document_models(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add ``models`` to the OpenAPI components (``#/components/schemas/<Name>``).

    Routes that decode their body themselves (YAML or JSON, duplicate keys refused) name
    their request schema by reference in ``openapi_extra``; this puts it there, so the
    reference resolves for clients and for property-based fuzzing.
    """
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in found.pop("$defs", {}).items():
                    components.setdefault(name, definition)
                components.setdefault(model.__name__, found)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
