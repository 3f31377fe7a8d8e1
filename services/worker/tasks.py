"""The worker's tasks: ids in, one job, what it planned sent on. Nothing else lives here.

Start a worker with ``celery -A services.worker.tasks worker -Q gpu`` (or ``dft``,
``default``); ``wise-al up`` starts one for every queue on this machine.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import Task
from sqlalchemy.orm import Session, sessionmaker

from services.worker.dispatch import create_celery, send_runs
from services.worker.routes import ADVANCE_TASK, ROUTES
from wise_al.db.engine import create_db_engine, create_session_factory
from wise_al.jobs.run import TRANSIENT, advance_and_plan, run_unit
from wise_al.loop import Unit
from wise_al.settings import WorkerSettings

settings = WorkerSettings()
app = create_celery(settings)

RETRIES: dict[str, Any] = {
    "autoretry_for": TRANSIENT,  # deterministic failures are recorded, never retried
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    # the lease bounds a unit's attempts (WISE_AL_UNIT_MAX_ATTEMPTS) and then settles it as
    # failed; Celery keeps retrying only while the database itself cannot be reached
    "max_retries": None,
}


@cache
def sessions() -> sessionmaker[Session]:
    """One engine per worker process, made after the fork (connections do not survive it)."""
    return create_session_factory(create_db_engine(settings.resolved_database_url()))


def _unit_task(unit: Unit) -> None:
    def run(task: Task, task_run_id: int) -> int:
        return send_runs(app, run_unit(sessions(), settings, task_run_id, task.request.hostname))

    run.__name__ = f"run_{unit}"
    app.task(name=ROUTES[unit][0], bind=True, **RETRIES)(run)


for _unit in ROUTES:
    _unit_task(_unit)


@app.task(name=ADVANCE_TASK, **RETRIES)
def advance(campaign_id: int) -> int:
    """Move a campaign on; sends what the loop planned."""
    return send_runs(app, advance_and_plan(sessions(), campaign_id))
