"""The API app factory: ``uvicorn --factory services.api.app:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import wise_al
from services.api.dashboard import install_dashboard
from services.api.errors import install_error_handlers
from services.api.hygiene import RequestHygiene
from services.api.limits import BodySizeLimit
from services.api.routes import (
    campaigns,
    datasets,
    docs,
    frames,
    health,
    results,
    runs,
    studies,
    validations,
)
from services.worker.dispatch import create_celery
from wise_al.campaign_spec.study import StudySpec
from wise_al.db.engine import create_db_engine, create_session_factory
from wise_al.db.migrate import head_revision, require_current
from wise_al.settings import ApiSettings

API_PREFIX = "/api/v1"


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API for ``settings`` (read from ``WISE_AL_*`` when not given).

    The database must be migrated (``wise-al db upgrade``); the app refuses to start otherwise.
    """
    settings = settings or ApiSettings()
    engine = create_db_engine(settings.resolved_database_url())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        require_current(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="wise-al",
        version=wise_al.__version__,
        description="Active learning of MACE potentials for water-in-salt electrolytes.",
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py from the app's own Swagger UI files
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.schema_head = head_revision()
    app.state.session_factory = create_session_factory(engine)
    app.state.celery = create_celery(settings)  # a producer only: the API never runs jobs
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        larger={f"{API_PREFIX}/datasets": settings.max_upload_bytes},
    )
    app.add_middleware(RequestHygiene)  # outermost: its headers are on every answer
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(campaigns.router, prefix=API_PREFIX)
    app.include_router(runs.router, prefix=API_PREFIX)
    app.include_router(frames.router, prefix=API_PREFIX)
    app.include_router(results.router, prefix=API_PREFIX)
    app.include_router(validations.router, prefix=API_PREFIX)
    app.include_router(datasets.router, prefix=API_PREFIX)
    app.include_router(studies.router, prefix=API_PREFIX)
    app.include_router(docs.router)
    docs.document_models(app, StudySpec)

    install_dashboard(app, settings)  # "/" and the pages; the REST API stays under /api/v1
    return app
