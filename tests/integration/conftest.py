"""Fixtures of the integration tests."""

from tests.api_fixtures import api

__all__ = ["api"]
