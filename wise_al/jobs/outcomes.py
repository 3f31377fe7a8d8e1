"""Where whole-iteration units record their outcome, in the iteration's metrics, and how a
stored record reads. Light on purpose: the loop's snapshot and the API read these without
loading the units themselves."""

from __future__ import annotations

from typing import Any

#: Where an iteration's metrics hold its committee's calibration (the unit's outcome).
CALIBRATION_KEY = "calibration"
#: Where an iteration's metrics hold its committee's evaluation (the unit's outcome).
EVALUATION_KEY = "evaluation"


def verdict_of(record: dict[str, Any]) -> str | None:
    """What a stored calibration says: ``calibrated``, ``under_dispersed``,
    ``uncalibrated`` (its σ does not rank or size the errors), or None when none was done.
    Records older than the rank and slope checks are judged on dispersion alone."""
    if record.get("status") != "done":
        return None
    if record.get("under_dispersed"):
        return "under_dispersed"
    return "calibrated" if record.get("uncalibrated_because") is None else "uncalibrated"
