"""The dashboard: server-rendered pages for reviewing campaigns, served by the API app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.api.dashboard.auth import Signer, session_secret
from services.api.dashboard.pages import router
from services.api.dashboard.templating import HERE, error_page
from wise_al.settings import ApiSettings


def install_dashboard(app: FastAPI, settings: ApiSettings) -> None:
    """Add the pages, their static files and the cookie signer to ``app``."""
    app.state.signer = Signer(session_secret(settings), settings.session_max_age_s)
    app.state.html_error = error_page
    app.mount("/static/dashboard", StaticFiles(directory=HERE / "static"), name="dashboard")
    app.include_router(router)
