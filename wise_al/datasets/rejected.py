"""The one error an upload is refused with: which frame, which field, why."""

from __future__ import annotations

from wise_al.errors import MAX_QUOTED_CHARS, SpecError, clip


class DatasetRejected(SpecError):
    """An upload refused: which frame (0-based), which field, why.

    Parameters
    ----------
    frame
        Index of the offending frame, or None for the file as a whole.
    field
        The extxyz key (``REF_forces``, ``positions``, ``symbols``, ...) or request field.
    reason
        What is wrong with it (quoted input in it is clipped with the message).
    """

    def __init__(self, frame: int | None, field: str, reason: str) -> None:
        where = "file" if frame is None else f"frame {frame}"
        field = clip(field, MAX_QUOTED_CHARS)
        super().__init__(
            f"{where}, {field}: {reason}",
            [{"loc": ["file", where, field], "msg": reason, "type": "dataset"}],
        )
        self.frame, self.field, self.reason = frame, field, clip(reason)
