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


def e0s_file(settings: CoreSettings, campaign_id: int) -> Path:
    """Isolated-atom energies at a campaign's level of theory (a JSON dict Z -> eV)."""
    path = settings.resolved_artifact_dir() / "campaigns" / str(campaign_id) / "e0s.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
