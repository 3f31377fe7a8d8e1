"""The few exception types the core raises; services translate them to HTTP or exit codes."""

from typing import Any

#: Longest error message: messages quote input (a key, an element symbol, a file name), and
#: input can be megabytes. Structured errors quote at most :data:`MAX_QUOTED_CHARS` per part.
MAX_MESSAGE_CHARS = 1000
MAX_QUOTED_CHARS = 200
#: Structured errors kept per error.
MAX_LISTED_ERRORS = 50


def clip(text: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as printable UTF-8 of at most about ``limit`` characters, saying what was cut.

    Lone surrogates (valid in JSON, not in UTF-8) are written as escapes, so the message can
    always be encoded into a response or a terminal.
    """
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def _quoted(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return clip(value, MAX_QUOTED_CHARS)


def clip_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Structured errors (``loc``, ``msg``, ...) with every quoted part clipped."""
    return [
        {
            **{key: _quoted(value) for key, value in error.items() if key != "loc"},
            "loc": [_quoted(part) for part in list(error.get("loc", []))[:20]],
        }
        for error in errors[:MAX_LISTED_ERRORS]
    ]


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
        super().__init__(clip(message))
        self.errors = clip_errors(errors or [])


class NotFoundError(WiseAlError):
    """A row asked for by id does not exist."""


class ConflictError(WiseAlError):
    """The request contradicts the current state (e.g. deleting a campaign that has started)."""


class AuthError(WiseAlError):
    """Missing, unknown or revoked credentials."""


class TransientError(WiseAlError):
    """A failure that may not happen again (a lost connection, a busy file): retry later."""
