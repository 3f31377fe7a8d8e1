"""Path and query parameters every router shares, declared once: ids and offsets fit the
database's 32-bit columns, so an id past them is a 422 naming it, never a database error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from wise_al.campaign_spec.base import MAX_INT32

CampaignId = Annotated[int, Path(ge=1, le=MAX_INT32)]
FrameId = Annotated[int, Path(ge=1, le=MAX_INT32)]
DatasetId = Annotated[int, Path(ge=1, le=MAX_INT32)]
StudyId = Annotated[int, Path(ge=1, le=MAX_INT32)]
ModelVersionId = Annotated[int, Path(ge=1, le=MAX_INT32)]
IterationIndex = Annotated[int, Path(ge=0, le=MAX_INT32)]
#: Rows of a listing to skip.
Offset = Annotated[int, Query(ge=0, le=MAX_INT32)]
#: An iteration to filter by (none: every iteration).
IterationFilter = Annotated[int | None, Query(ge=0, le=MAX_INT32)]
