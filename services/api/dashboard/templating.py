"""Jinja2 templates of the dashboard, their filters, and the vendored browser libraries."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.api.dashboard.auth import Viewer, set_cookies
from services.api.dashboard.views import elapsed_s
from wise_al.observables.registry import METRICS, OBSERVABLES

HERE = Path(__file__).parent
#: Browser libraries from npm (package-lock.json pins them), by the name pages load them as.
VENDOR: dict[str, Path] = {
    "3Dmol-min.js": HERE / "node_modules/3dmol/build/3Dmol-min.js",
    "plotly.min.js": HERE / "node_modules/plotly.js-dist-min/plotly.min.js",
    "htmx.min.js": HERE / "node_modules/htmx.org/dist/htmx.min.js",
    "swagger-ui-bundle.js": HERE / "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": HERE / "node_modules/swagger-ui-dist/swagger-ui.css",
}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _ago(moment: datetime | None) -> str:
    return "–" if moment is None else _duration(elapsed_s(moment)) + " ago"


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _fixed(value: float | None, decimals: int = 0) -> str:
    return "–" if value is None else f"{value:.{decimals}f}"


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    duration=_duration,
    ago=_ago,
    elapsed=lambda start, end=None: _duration(elapsed_s(start, end)),
    number=_number,
    fixed=_fixed,
    # for <script type="application/json">: "</" must not end the script element
    tojson_safe=lambda v: json.dumps(v).replace("</", "<\\/"),
)
#: The validation table's observable columns, declared in the observables registry.
templates.env.globals["validation_columns"] = [o for o in OBSERVABLES.values() if o.in_table]
#: A study's comparison columns: every metric of the registry.
templates.env.globals["study_metrics"] = list(METRICS.values())


def render(
    request: Request, viewer: Viewer, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page (or an htmx fragment) for ``viewer``, with the CSRF cookie a new visitor needs."""
    response = templates.TemplateResponse(
        request, template, {"viewer": viewer, **context}, status_code=status_code
    )
    set_cookies(response, request, viewer)
    return response


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """The error page a browser gets on a dashboard path (the API answers JSON)."""
    return templates.TemplateResponse(
        request,
        "error.html",
        {"viewer": None, "status_code": status_code, "message": message},
        status_code=status_code,
    )
