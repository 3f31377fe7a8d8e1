"""Celery workers: the units of wise_al.jobs.registry, routed by services.worker.routes."""
