"""Where a campaign's files live in the artifact store."""

from __future__ import annotations

from pathlib import Path

from wise_al.settings import CoreSettings


def campaign_dir(settings: CoreSettings, campaign_id: int) -> Path:
    """``<artifacts>/campaigns/<id>``, created on demand."""
    path = settings.resolved_artifact_dir() / "campaigns" / str(campaign_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def iteration_dir(settings: CoreSettings, campaign_id: int, iteration: int) -> Path:
    """``<artifacts>/campaigns/<id>/iteration-<n>``, created on demand."""
    path = campaign_dir(settings, campaign_id) / f"iteration-{iteration}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_cell_file(settings: CoreSettings, campaign_id: int) -> Path:
    """The campaign's equilibrated cell: every validation starts from it, and walkers may
    (``exploration.start: equilibrated``). Its folder is created on demand."""
    folder = campaign_dir(settings, campaign_id) / "validation"
    folder.mkdir(exist_ok=True)
    return folder / "start.extxyz"


def legacy_e0s_file(settings: CoreSettings, campaign_id: int) -> Path:
    """Where isolated-atom energies were kept before they moved to the database (read only)."""
    return settings.resolved_artifact_dir() / "campaigns" / str(campaign_id) / "e0s.json"


def datasets_dir(settings: CoreSettings) -> Path:
    """``<artifacts>/datasets``, created on demand: uploads and their temporary files."""
    folder = settings.resolved_artifact_dir() / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def dataset_file(settings: CoreSettings, sha256: str) -> Path:
    """``<artifacts>/datasets/<sha256>.extxyz``: an upload, by its content (never overwritten)."""
    return datasets_dir(settings) / f"{sha256}.extxyz"
