"""Thin service processes around the wise_al core: the REST API and the Celery workers."""
