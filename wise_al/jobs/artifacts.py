"""Where a campaign's files live in the artifact store."""

from __future__ import annotations

from pathlib import Path

from wise_al.settings import CoreSettings


def iteration_dir(settings: CoreSettings, campaign_id: int, iteration: int) -> Path:
    """``<artifacts>/campaigns/<id>/iteration-<n>``, created on demand."""
    path = (
        settings.resolved_artifact_dir() / "campaigns" / str(campaign_id) / f"iteration-{iteration}"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def e0s_file(settings: CoreSettings, level_sha256: str) -> Path:
    """Isolated-atom energies of one level of theory, shared by every campaign using it."""
    path = settings.resolved_artifact_dir() / "e0s" / f"{level_sha256}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
