"""Celery workers: queues gpu (explore, train), dft (label), default (the rest)."""
