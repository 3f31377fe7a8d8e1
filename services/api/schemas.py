"""Response schemas of the API (``Read`` suffix); request bodies are core specs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from wise_al.db.models import Campaign
from wise_al.db.repositories.base import Page as RowPage
from wise_al.observables.registry import OBSERVABLES

Item = TypeVar("Item", bound=BaseModel)


class Page(BaseModel, Generic[Item]):
    """One page of a listing (every list route's answer), with the total for pagers."""

    items: list[Item]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, rows: RowPage[Any], read: Callable[[Any], Item]) -> Page[Item]:
        """A repository's page of rows, each read into its schema by ``read``."""
        return cls(
            items=[read(row) for row in rows.items],
            total=rows.total,
            limit=rows.limit,
            offset=rows.offset,
        )


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
    """The lease of one unit of work: who ran it, how often, the last error.

    What the unit produced is on its own resource (frames, labels, models, iterations).
    """

    model_config = ConfigDict(from_attributes=True)

    id: int
    unit: str
    unit_key: str
    iteration_index: int | None
    unit_index: int | None
    status: str
    attempts: int
    error: str | None
    worker: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class FlagRead(BaseModel):
    """A physics flag of a frame, explaining itself."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    atoms: list[int]
    value: float
    threshold: float
    message: str


class FrameRead(BaseModel):
    """A frame in a listing: scores, flags and status, without its structure."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    iteration_id: int
    walker_run_id: int | None
    source: str = Field(
        description="the MD that saved it: walker, validation (the previous committee's "
        "validation MD) or seed (an imported dataset or packed cells)"
    )
    validation_id: int | None
    onset_of_step: int | None = Field(
        description="on frames leading into a break of their trajectory: the step it broke at"
    )
    md_step: int
    status: str
    max_deviation_eV_per_A: float | None
    mean_deviation_eV_per_A: float | None
    energy_std_eV_per_atom: float | None
    n_atoms: int
    selection_reason: str | None
    flags: list[FlagRead]


class ReviewRead(BaseModel):
    """A person's decision on a selected frame."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    frame_id: int
    reviewer: str
    decision: str
    reason: str
    created_at: datetime


class FrameDetailRead(FrameRead):
    """One frame in full: structure, per-atom deviation, provenance, reviews."""

    iteration_index: int
    walker_index: int | None
    validation_iteration_index: int | None = Field(
        default=None, description="validation frames: the iteration whose committee ran the MD"
    )
    walker_conditions: dict[str, Any] | None
    trajectory_path: str | None
    atom_deviations_eV_per_A: list[float] | None
    member_energies_eV: list[float] | None = Field(
        default=None, description="each committee member's energy (None for a single model)"
    )
    structure: dict[str, Any]
    reviews: list[ReviewRead]


class LabelRead(BaseModel):
    """A CP2K label and its provenance (forces are in the dataset export)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    frame_id: int
    status: str
    energy_eV: float | None
    level_sha256: str
    level_of_theory: dict[str, Any]
    input_sha256: str | None
    attempts: int
    failure_class: str | None
    failure_detail: str | None
    scf_steps: int | None
    wall_time_s: float | None
    finished_at: datetime | None


class ModelVersionRead(BaseModel):
    """A committee member of one iteration."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    iteration_index: int
    member_index: int
    strategy: str
    status: str
    training_set_sha256: str | None
    file_sha256: str | None
    metrics: dict[str, Any]
    error: str | None = None  # why a failed member did not train
    created_at: datetime


#: Scalars of a validation's observables shown in a summary (the curves stay in the full
#: read): every declared observable and its error, then what explains them.
SUMMARY_OBSERVABLES = (
    *(o.key for o in OBSERVABLES.values() if o.read is None),
    *(o.stderr_key for o in OBSERVABLES.values() if o.stderr_key),
    "li_li_contact_li_fraction",
    "li_li_contact_mean_lifetime_frames",
    "li_li_mean_closest_A",
    "broke_at_step",
    "broke_because",
    "density_ensemble",
    "sq_min_q_per_A",
    "diffusion_A2_per_ps",
    "diffusion_order_matches_experiment",
    "frames",
    "atoms",
)


class ValidationSummaryRead(BaseModel):
    """One iteration's committee judged against experiment: scores and scalar observables."""

    model_config = ConfigDict(from_attributes=True)

    iteration_index: int
    status: str
    scores: list[dict[str, Any]]
    observables: dict[str, Any] = Field(description="scalars only; curves in the full read")
    steps_done: int
    frames: int
    trajectory_sha256: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> ValidationSummaryRead:
        """The summary of a validation row (curves left out)."""
        summary = cls.model_validate(row)
        summary.observables = {
            k: v for k, v in (row.observables or {}).items() if k in SUMMARY_OBSERVABLES
        }
        return summary


class ValidationRead(ValidationSummaryRead):
    """A validation in full: parameters, and every observable with its curves (S(q), g(r),
    density against time)."""

    parameters: dict[str, Any]


class DatasetRead(BaseModel):
    """An uploaded dataset: what it holds and the level its labels were declared at."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    sha256: str
    size_bytes: int
    summary: dict[str, Any]
    level_of_theory: dict[str, Any] | None
    level_sha256: str | None
    labelling: dict[str, Any] | None
    confirmation: dict[str, Any] | None
    description: str
    created_by: str | None
    created_at: datetime


class StudyRead(BaseModel):
    """A study: its spec, its campaigns side by side (``wise_al.jobs.studies.VariantRow``)."""

    id: int
    name: str
    created_by: str | None
    created_at: datetime
    spec: dict[str, Any]
    variants: list[dict[str, Any]]


class StudySummaryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_by: str | None
    created_at: datetime
