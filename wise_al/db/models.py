"""Tables of the active-learning history (SQLAlchemy 2, typed).

Campaign -> Iteration -> WalkerRun -> Frame -> (FrameFlag, Review, Label); ModelVersion per
committee member and iteration; ReferenceEnergies per campaign. Each unit of work records
its outcome on one of these rows; a TaskRun is only the lease of a queued unit (attempts,
worker, last error). ApiToken for auth.
The schema exists only through the Alembic revisions in ``migrations/``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wise_al.db.base import Base, StrEnum, utcnow
from wise_al.loop.state import CampaignStatus, Phase  # the loop defines them; stored here


class RunStatus(StrEnum):
    """Status of a unit of work (walker run, label, model version, task run)."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    STOPPED_EARLY = "stopped_early"
    FAILED = "failed"


class FrameStatus(StrEnum):
    ACCURATE = "accurate"
    CANDIDATE = "candidate"
    FAILED = "failed"
    SELECTED = "selected"
    REJECTED = "rejected"


class FrameSource(StrEnum):
    """Which MD (or upload) a frame comes from: every MD the potential runs explores."""

    WALKER = "walker"  # an exploration walker of the frame's iteration
    VALIDATION = "validation"  # the previous iteration's validation MD, judged by its committee
    SEED = "seed"  # iteration 0's imported dataset or packed cells


class ReviewDecision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


def _enum(cls: type[enum.StrEnum]) -> Enum:
    # Stored as VARCHAR by value: portable across SQLite and PostgreSQL, readable in SQL.
    return Enum(
        cls,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=True,  # a CHECK, so no other process can store an unknown status
    )


def _fk(target: str, nullable: bool = False) -> Mapped[Any]:
    return mapped_column(ForeignKey(target, ondelete="CASCADE"), nullable=nullable, index=True)


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus), default=CampaignStatus.DRAFT, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    schema_version: Mapped[int]
    spec: Mapped[dict[str, Any]]
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # the study this campaign is a variant of (None: a campaign of its own)
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), index=True
    )
    study_variant: Mapped[str | None] = mapped_column(String(40))
    study_seed: Mapped[int | None]

    iterations: Mapped[list[Iteration]] = relationship(
        back_populates="campaign", order_by="Iteration.index", passive_deletes=True
    )


class Study(Base):
    """A base campaign and its named variants (``wise_al.campaign_spec.study``), compared."""

    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    spec: Mapped[dict[str, Any]]
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Iteration(Base):
    __tablename__ = "iteration"
    __table_args__ = (UniqueConstraint("campaign_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = _fk("campaign.id")
    index: Mapped[int]
    phase: Mapped[Phase] = mapped_column(_enum(Phase), default=Phase.EXPLORE)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    campaign: Mapped[Campaign] = relationship(back_populates="iterations")


class WalkerRun(Base):
    __tablename__ = "walker_run"
    __table_args__ = (UniqueConstraint("iteration_id", "walker_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    iteration_id: Mapped[int] = _fk("iteration.id")
    walker_index: Mapped[int]
    conditions: Mapped[dict[str, Any]]
    seed: Mapped[int]
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.PENDING)
    steps_done: Mapped[int] = mapped_column(default=0)
    trajectory_path: Mapped[str | None] = mapped_column(Text)
    trajectory_sha256: Mapped[str | None] = mapped_column(String(64))
    # saved frames per committee class ("accurate", "candidate", "failed"): all of them are
    # counted, only the ones that matter are stored as frames
    frame_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    # max-deviation histogram of every saved frame, on uncertainty.DEVIATION_BIN_EDGES_EV_PER_A
    # (the database keeps only the frames that matter, the histogram shows all of them)
    deviation_histogram: Mapped[list[Any] | None]
    error: Mapped[str | None] = mapped_column(Text)


class Frame(Base):
    __tablename__ = "frame"
    __table_args__ = (
        Index("ix_frame_campaign_status", "campaign_id", "status"),
        Index("ix_frame_campaign_deviation", "campaign_id", "max_deviation_eV_per_A"),
        # the review queue's order (highest deviation first, unjudged frames last), so a
        # page of 100 000 frames is an index walk, not a sort; PostgreSQL only (SQLite
        # indexes cannot say NULLS LAST)
        Index(
            "ix_frame_campaign_deviation_desc",
            "campaign_id",
            text('"max_deviation_eV_per_A" DESC NULLS LAST'),
            "id",
        ).ddl_if(dialect="postgresql"),
        UniqueConstraint("walker_run_id", "md_step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    iteration_id: Mapped[int] = _fk("iteration.id")
    walker_run_id: Mapped[int | None] = _fk("walker_run.id", nullable=True)
    md_step: Mapped[int]
    status: Mapped[FrameStatus] = mapped_column(_enum(FrameStatus))
    max_deviation_eV_per_A: Mapped[float | None]
    mean_deviation_eV_per_A: Mapped[float | None]
    energy_std_eV_per_atom: Mapped[float | None]
    member_energies_eV: Mapped[list[Any] | None]
    atom_deviations_eV_per_A: Mapped[list[Any] | None]
    n_atoms: Mapped[int]
    structure: Mapped[dict[str, Any]]
    selection_reason: Mapped[str | None] = mapped_column(Text)
    # mean invariant MACE features: duplicates and diversity at selection
    descriptor: Mapped[list[Any] | None]
    # imported frames: the group they split with (None: walker frames split by their run)
    split_group: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[FrameSource] = mapped_column(_enum(FrameSource), default=FrameSource.WALKER)
    # validation frames: the validation run they were saved by
    validation_id: Mapped[int | None] = _fk("validation.id", nullable=True)
    # frames leading into the point where their trajectory broke: the step it broke at
    onset_of_step: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    flags: Mapped[list[FrameFlag]] = relationship(passive_deletes=True)


class FrameFlag(Base):
    """A physics flag raised on a stored frame (the stored form of ``wise_al.flags.Flag``)."""

    __tablename__ = "flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    frame_id: Mapped[int] = _fk("frame.id")
    kind: Mapped[str] = mapped_column(String(40), index=True)
    atoms: Mapped[list[Any]]
    value: Mapped[float]
    threshold: Mapped[float]
    message: Mapped[str] = mapped_column(Text)


class Review(Base):
    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    frame_id: Mapped[int] = _fk("frame.id")
    reviewer: Mapped[str] = mapped_column(String(120))
    decision: Mapped[ReviewDecision] = mapped_column(_enum(ReviewDecision))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Label(Base):
    __tablename__ = "label"
    __table_args__ = (UniqueConstraint("frame_id", "level_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    frame_id: Mapped[int] = _fk("frame.id")
    level_of_theory: Mapped[dict[str, Any]]
    level_sha256: Mapped[str] = mapped_column(String(64), index=True)
    # where the numbers came from: CP2K here, or an uploaded dataset (LabelProvenance)
    provenance: Mapped[str] = mapped_column(String(20), default="cp2k", server_default="cp2k")
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.PENDING)
    energy_eV: Mapped[float | None]
    forces_eV_per_A: Mapped[list[Any] | None]
    stress_eV_per_A3: Mapped[list[Any] | None]
    # "dE_dstrain" ((1/V) dE/dstrain, ASE/MACE: compression negative); migration 0005 turned
    # the CP2K-signed stresses of earlier labels into it
    stress_convention: Mapped[str | None] = mapped_column(String(20))
    input_path: Mapped[str | None] = mapped_column(Text)
    output_path: Mapped[str | None] = mapped_column(Text)
    input_sha256: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    attempt_log: Mapped[list[Any]] = mapped_column(default=list)
    failure_class: Mapped[str | None] = mapped_column(String(40))
    failure_detail: Mapped[str | None] = mapped_column(Text)
    scf_steps: Mapped[int | None]
    scf_steps_saved: Mapped[int | None]
    wfn_guess_from: Mapped[str | None] = mapped_column(Text)
    wall_time_s: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class LabelProvenance(StrEnum):
    CP2K = "cp2k"
    IMPORTED = "imported"


class Dataset(Base):
    """An uploaded extxyz: labelled frames at a declared level, or starting structures.

    The file lives in the artifact store under its content hash and is never overwritten;
    campaigns name a dataset in their spec and import its frames as labels.
    """

    __tablename__ = "dataset"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # wise_al.datasets.check.Kind
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int]
    file_path: Mapped[str] = mapped_column(Text)
    # wise_al.datasets.check.DatasetSummary: frames, elements, energy range, ...
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    level_of_theory: Mapped[dict[str, Any] | None]
    level_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # the CP2K labelling section the level was declared as (None: a foreign level record)
    labelling: Mapped[dict[str, Any] | None]
    # frames re-labelled with CP2K to confirm the declared level, and how close they came
    confirmation: Mapped[dict[str, Any] | None]
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("campaign_id", "iteration_index", "member_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = _fk("campaign.id")
    iteration_index: Mapped[int]
    member_index: Mapped[int]
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_version.id", ondelete="SET NULL")
    )
    strategy: Mapped[str] = mapped_column(String(40))
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.PENDING)
    training_set_sha256: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    file_path: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    # why a member failed to train (status failed): the loop fails the campaign on it
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferenceEnergies(Base):
    """Isolated-atom energies of a campaign's elements at its level of theory (the E0s)."""

    __tablename__ = "reference_energies"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.PENDING)
    # atomic number (as a string: JSON keys) -> energy in eV
    energies_eV: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Validation(Base):
    """One iteration's committee judged against experiment: production MD and observables."""

    __tablename__ = "validation"
    __table_args__ = (UniqueConstraint("campaign_id", "iteration_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = _fk("campaign.id")
    iteration_index: Mapped[int]
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.PENDING)
    # the validation spec and what drove the MD (models' hashes, driver, dispersion)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # wise_al.observables.report.observe(): every observable, curves included
    observables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # wise_al.observables.scores.score_report(): graded errors against experiment
    scores: Mapped[list[Any]] = mapped_column(default=list)
    steps_done: Mapped[int] = mapped_column(default=0)
    frames: Mapped[int] = mapped_column(default=0)
    trajectory_path: Mapped[str | None] = mapped_column(Text)
    trajectory_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class TaskRun(Base):
    """The lease of one queued unit of work: who holds it, how often it was tried, why not.

    What the unit produced or why it failed lives on its domain row; the loop reads those.
    """

    __tablename__ = "task_run"
    __table_args__ = (Index("ix_task_run_campaign_status", "campaign_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    unit: Mapped[str] = mapped_column(String(40))
    unit_key: Mapped[str] = mapped_column(String(200), unique=True)
    iteration_index: Mapped[int | None]
    # the walker, frame id or member the unit is about (None for whole-iteration units)
    unit_index: Mapped[int | None]
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the secret is shown once at creation."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: space-separated scopes (read, review, operate, admin); admin implies the others
    scopes: Mapped[str] = mapped_column(String(80), default="admin")
    expires_at: Mapped[datetime | None]


class DashboardSession(Base):
    """A dashboard sign-in. The cookie holds a random key, this row its SHA-256: signing out
    ends the row, so a copied cookie stops working at once, not when it expires."""

    __tablename__ = "dashboard_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_token.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


# SQLite reuses the largest rowid after a delete, so a deleted campaign's links would open the
# next one: AUTOINCREMENT keeps every id unique for the life of the database.
for _table in Base.metadata.tables.values():
    _table.dialect_options["sqlite"]["autoincrement"] = True
