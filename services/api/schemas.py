"""Response schemas of the API (``Read`` suffix); request bodies are core specs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from wise_al.db.models import Campaign


class ErrorRead(BaseModel):
    """Every error response: one readable line, and structured detail."""

    message: str
    detail: Any = None


class CampaignRead(BaseModel):
    """A campaign without its full spec (``GET /campaigns/{id}/spec`` has that)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: str
    status_reason: str | None
    schema_version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    summary: dict[str, Any]

    @classmethod
    def from_row(cls, campaign: Campaign) -> CampaignRead:
        """Build from a row, with a summary of the spec for listings."""
        spec = campaign.spec

        def read(section: str, key: str) -> Any:
            # tolerant: a spec stored by another version may lack a key, a listing must not fail
            value = spec.get(section)
            return value.get(key) if isinstance(value, dict) else None

        summary = {
            "composition": read("system", "composition"),
            "strategy": read("model", "strategy"),
            "committee_size": read("model", "committee_size"),
            "labelling_method": read("labelling", "method"),
            "max_iterations": read("stopping", "max_iterations"),
        }
        return cls(
            id=campaign.id,
            name=campaign.name,
            status=str(campaign.status),
            status_reason=campaign.status_reason,
            schema_version=campaign.schema_version,
            created_by=campaign.created_by,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            summary=summary,
        )


class CampaignPage(BaseModel):
    """A page of campaigns, newest first."""

    items: list[CampaignRead]
    total: int
    limit: int
    offset: int


class HealthRead(BaseModel):
    """Liveness and database reachability."""

    status: str
    version: str
    database: str


class IterationRead(BaseModel):
    """One iteration of the loop, with its numbers."""

    model_config = ConfigDict(from_attributes=True)

    index: int
    phase: str
    metrics: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None


class TaskRunRead(BaseModel):
    """One unit of work: where it is queued, how it went."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    task_name: str
    unit_key: str
    queue: str
    iteration_index: int | None
    status: str
    attempts: int
    error: str | None
    worker: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class TaskRunPage(BaseModel):
    """A page of task runs, oldest first."""

    items: list[TaskRunRead]
    total: int
    limit: int
    offset: int
