"""Fixtures of the integration tests."""

from tests.support.api_fixtures import api

__all__ = ["api"]
