"""Send planned units to their queues; what the API and the tasks share.

A task run row exists before its message is sent, so a crash in between loses nothing:
resuming the campaign sends every unfinished unit again, and units are idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery
from kombu import Queue

from services.worker.routes import ADVANCE_TASK, DEFAULT_QUEUE, QUEUES, ROUTES
from wise_al.db.models import TaskRun
from wise_al.loop import Unit
from wise_al.settings import CoreSettings


def create_celery(settings: CoreSettings) -> Celery:
    """A Celery app configured for long, idempotent jobs on the configured broker."""
    broker = settings.resolved_broker_url()
    app = Celery("wise_al", broker=broker)
    app.conf.update(
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue=DEFAULT_QUEUE,
        task_acks_late=True,  # a job is acknowledged when it ends, not when it starts
        task_reject_on_worker_lost=True,  # a killed child puts its message back at once
        worker_prefetch_multiplier=1,  # never hold a second long job behind the running one
        task_ignore_result=True,  # results live in the database, never in a backend
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    if broker.startswith(("redis://", "rediss://")):
        visibility_s = settings.visibility_timeout_s
        app.conf.broker_transport_options = {
            # longer than the longest job, or a running job is delivered twice
            "visibility_timeout": visibility_s,
            # how often unacknowledged messages of dead workers are looked for
            "unacked_restore_interval": min(10.0, visibility_s / 5),
            "unacked_restore_throttle": 1,
        }
    return app


def send_runs(app: Celery, runs: Iterable[TaskRun]) -> int:
    """Send each task run to its unit's task and queue; returns how many were sent."""
    sent = 0
    for run in runs:
        name, queue = ROUTES[Unit(run.unit)]
        app.send_task(name, args=[run.id], queue=queue)
        sent += 1
    return sent


def send_advance(app: Celery, campaign_id: int) -> None:
    """Ask a worker to move the campaign on (after start, resume or a review)."""
    app.send_task(ADVANCE_TASK, args=[campaign_id], queue=DEFAULT_QUEUE)
