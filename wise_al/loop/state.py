"""What the loop sees (a snapshot of counts) and what it decides (a transition).

Both are plain values: the database builds the snapshot, the worker carries out the
commands. Nothing here does I/O, so every path through the loop is tested in microseconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """True once nothing will ever run for the campaign again."""
        return self in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED, CampaignStatus.FAILED)


class Phase(enum.StrEnum):
    SEED = "seed"  # iteration 0 seeded with an uploaded dataset or packed cells
    EXPLORE = "explore"
    SELECT = "select"
    REVIEW = "review"
    LABEL = "label"
    TRAIN = "train"
    EVALUATE = "evaluate"
    VALIDATE = "validate"
    DECIDE = "decide"
    DONE = "done"


class Unit(enum.StrEnum):
    """Kinds of unit of work a command asks for (each declared in :mod:`wise_al.jobs`)."""

    SEED = "seed"  # import an uploaded dataset's frames as labels of iteration 0
    PACK = "pack"  # pack and relax iteration 0's cells with CP2K, for labelling
    EXPLORE = "explore"  # one walker
    SELECT = "select"
    E0S = "e0s"  # isolated-atom reference energies at the campaign's level of theory
    LABEL = "label"  # one frame
    CALIBRATE = "calibrate"  # the exploring committee against this iteration's new labels
    TRAIN = "train"  # one committee member
    EVALUATE = "evaluate"
    VALIDATE = "validate"  # production MD of the new committee, judged against experiment


@dataclass(frozen=True)
class Command:
    """One unit of work to run: ``index`` is the walker, frame id or member it is about."""

    unit: Unit
    iteration: int
    index: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """Counts of one campaign's current iteration, read under a lock.

    Attributes
    ----------
    status, iteration, phase
        Where the campaign is.
    has_committee
        Whether a committee trained by this campaign drove this iteration's exploration
        (iteration 0 explores with the foundation alone: no deviation to converge on).
    walkers, walkers_finished, walkers_failed, walker_error
        Walkers of this iteration: planned, ended (done, stopped early or failed), failed.
    accurate_ratio
        Fraction of this iteration's saved frames the committee called accurate.
    selected
        Frames selected this iteration (None until selection ran).
    selection_failed
        Why this iteration's selection failed (None unless it did).
    awaiting_review
        Selected frames without a review decision.
    to_label
        Ids of frames accepted for labelling that have no finished label yet.
    labels_done_iteration, labels_total
        Successful labels of this iteration (imported ones included) and the campaign's
        CP2K labels (what its label budget counts).
    seeded, seed_failed
        Whether iteration 0's seed (an uploaded dataset, or packed cells) is stored, and why
        that failed.
    e0s_ready, e0s_failed
        Isolated-atom energies at the campaign's level of theory: computed, or why not.
    calibrated
        Whether the exploring committee was compared with this iteration's labels (or that
        comparison was given up on).
    calibration_verdict
        What the latest calibration said: ``"calibrated"``, ``"under_dispersed"``,
        ``"uncalibrated"`` (its deviation does not rank or size the errors), or None
        when no committee was calibrated yet. Only a calibrated committee can converge.
    dispersion_ratio
        That calibration's predicted deviation over true error, at the median.
    calibration_reason
        Why that calibration does not count (rank correlation or slope out of the spec's
        bounds), or None.
    members_done, members_failed
        Committee members trained this iteration, and the errors of those that failed.
    evaluated, evaluation_failed
        Whether this iteration's committee was evaluated, and why that failed.
    validated, validation_failed
        Whether this iteration's validation MD ended, and why it failed.
    observables
        The validation's scored metrics (errors against experiment, lower is better).
    explorer_broke
        How the validation MD of the committee exploring this iteration broke ("step N:
        why"), or None: a committee whose MD breaks has not converged, however it agrees.
    """

    status: CampaignStatus
    iteration: int
    phase: Phase
    has_committee: bool = False
    walkers: int = 1
    walkers_finished: int = 0
    walkers_failed: int = 0
    walker_error: str | None = None  # the first failed walker's error, for the reason
    accurate_ratio: float | None = None
    selected: int | None = None
    selection_failed: str | None = None
    awaiting_review: int = 0
    to_label: tuple[int, ...] = field(default_factory=tuple)
    labels_done_iteration: int = 0
    labels_total: int = 0
    seeded: bool = False
    seed_failed: str | None = None
    e0s_ready: bool = False
    e0s_failed: str | None = None
    calibrated: bool = False
    calibration_verdict: str | None = None
    dispersion_ratio: float | None = None
    calibration_reason: str | None = None
    members_done: int = 0
    members_failed: tuple[str, ...] = ()
    evaluated: bool = False
    evaluation_failed: str | None = None
    validated: bool = False
    validation_failed: str | None = None
    observables: tuple[tuple[str, float], ...] = ()
    explorer_broke: str | None = None


@dataclass(frozen=True)
class Transition:
    """The loop's decision: where the campaign goes, what to run, and why."""

    status: CampaignStatus
    iteration: int
    phase: Phase
    commands: tuple[Command, ...] = ()
    reason: str = ""

    def moves_from(self, snapshot: Snapshot) -> bool:
        """True when this transition changes the status, iteration or phase."""
        return (self.status, self.iteration, self.phase) != (
            snapshot.status,
            snapshot.iteration,
            snapshot.phase,
        )
