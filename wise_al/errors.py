"""The few exception types the core raises; services translate them to HTTP or exit codes."""

from typing import Any


class WiseAlError(Exception):
    """Base class of every error wise-al raises on purpose (never a bug)."""


class SpecError(WiseAlError):
    """A campaign spec is malformed or scientifically invalid.

    Parameters
    ----------
    message
        One readable line, naming the field and the reason.
    errors
        Structured errors (``loc``, ``msg``) as pydantic reports them.
    """

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class NotFoundError(WiseAlError):
    """A row asked for by id does not exist."""


class ConflictError(WiseAlError):
    """The request contradicts the current state (e.g. deleting a campaign that has started)."""


class AuthError(WiseAlError):
    """Missing, unknown or revoked credentials."""


class TransientError(WiseAlError):
    """A failure that may not happen again (a lost connection, a busy file): retry later."""
