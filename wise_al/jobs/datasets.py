"""Store an upload: check every frame, keep the file under its hash, record the dataset.

A refused upload leaves nothing behind: the file is checked in a temporary file of the
artifact store (in a child process with a deadline and a memory limit), its row is
recorded, and only then is the checked file renamed into place: a name taken by other
content is refused before any file is placed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from wise_al.campaign_spec.dataset import DatasetSpec
from wise_al.datasets.bounded import check_bounded
from wise_al.datasets.rejected import DatasetRejected
from wise_al.db.models import Dataset
from wise_al.db.repositories import DatasetRepository
from wise_al.jobs.artifacts import dataset_file, datasets_dir
from wise_al.settings import CoreSettings
from wise_al.systems.levels import sha256_of

CHUNK_BYTES = 1 << 20


def _declared_level(spec: DatasetSpec) -> str | None:
    """The declared level's hash, after checking its labelling section reproduces it."""
    if spec.level_of_theory is None:
        return None
    if spec.labelling is not None:
        from wise_al.cp2k.level import spec_from_level
        from wise_al.errors import WiseAlError

        try:
            recorded = spec_from_level(spec.level_of_theory)
        except (WiseAlError, ValueError) as exc:
            raise DatasetRejected(None, "level_of_theory", f"not a CP2K level ({exc})") from None
        if not recorded.same_level(spec.labelling):
            raise DatasetRejected(
                None, "labelling", "describes another level than level_of_theory records"
            )
    return sha256_of(spec.level_of_theory)


def store_dataset(
    session: Session,
    settings: CoreSettings,
    spec: DatasetSpec,
    stream: BinaryIO,
    created_by: str | None = None,
) -> tuple[Dataset, bool]:
    """Check and store one upload; returns its row and whether it is new.

    Raises
    ------
    DatasetRejected
        Naming the frame and the field; nothing is stored.
    ConflictError
        The name is taken by other content.
    """
    level_sha256 = _declared_level(spec)
    folder = datasets_dir(settings)
    digest, size = hashlib.sha256(), 0
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".extxyz")
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        summary = check_bounded(
            Path(temporary),
            spec.kind,
            level_sha256,
            settings.dataset_check_deadline_s,
            settings.dataset_check_memory_bytes,
        )
        sha256 = digest.hexdigest()
        target = dataset_file(settings, sha256)
        row, new = DatasetRepository(session).add(
            name=spec.name,
            kind=spec.kind,
            sha256=sha256,
            size_bytes=size,
            file_path=str(target),
            summary=summary.as_dict(),
            level_of_theory=spec.level_of_theory,
            level_sha256=level_sha256,
            labelling=spec.labelling.model_dump() if spec.labelling is not None else None,
            confirmation=spec.confirmation.model_dump() if spec.confirmation else None,
            description=spec.description,
            created_by=created_by,
        )
        if not target.exists():  # the same bytes stored already are never overwritten
            os.replace(temporary, target)
        return row, new
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
