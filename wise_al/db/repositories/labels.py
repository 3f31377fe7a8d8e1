"""Queries on labels: record CP2K results, and gather one level of theory for training."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from wise_al.cp2k.units import STRESS_CONVENTION
from wise_al.db.base import utcnow
from wise_al.db.models import Dataset, Frame, Label, LabelProvenance, RunStatus
from wise_al.db.repositories.base import Page, Repository
from wise_al.systems.levels import single_level

if TYPE_CHECKING:  # the API imports repositories; it never loads the CP2K runner
    from wise_al.cp2k.label import LabelResult


#: The level recorded on a label whose unit failed before CP2K said what level it ran.
UNKNOWN_LEVEL = "unknown"


class LabelRepository(Repository[Label]):
    """Labels of frames."""

    model = Label
    noun = "label"

    def record(self, frame_id: int, result: LabelResult) -> Label:
        """Store a labelling result for a frame: numbers only when it succeeded.

        One row per frame and level of theory. Recording again (a repeated task) updates a
        failed row and leaves a done one untouched, so a label is never overwritten.
        """
        label = self.session.scalars(
            select(Label).where(
                Label.frame_id == frame_id, Label.level_sha256 == result.level_sha256
            )
        ).one_or_none()
        if label is not None and label.status == RunStatus.DONE:
            return label
        if label is None:
            label = Label(frame_id=frame_id, level_sha256=result.level_sha256)
            self.session.add(label)
        label.level_of_theory = result.level_of_theory
        label.status = RunStatus.DONE if result.ok else RunStatus.FAILED
        label.failure_class, label.failure_detail = result.failure, result.detail
        label.energy_eV = result.energy_eV
        label.forces_eV_per_A = result.forces_eV_per_A
        label.stress_eV_per_A3 = result.stress_eV_per_A3
        label.stress_convention = result.stress_convention
        label.attempts = len(result.attempts)
        label.attempt_log = [vars(a) for a in result.attempts]
        if result.attempts:
            last = Path(result.directory, result.attempts[-1].directory)
            label.input_path, label.output_path = str(last / "label.inp"), str(last / "label.out")
        label.input_sha256 = result.input_sha256
        label.scf_steps, label.scf_steps_saved = result.scf_steps, result.scf_steps_saved
        label.wfn_guess_from = result.wfn_guess_from
        label.wall_time_s = result.wall_time_s
        label.finished_at = utcnow()
        self.session.flush()
        return label

    def add_imported(
        self,
        frame_id: int,
        dataset: Dataset,
        energy_eV: float,
        forces_eV_per_A: list[list[float]],
        stress_eV_per_A3: list[list[float]] | None,
    ) -> Label:
        """A label that came with an uploaded dataset, at the dataset's level of theory."""
        label = Label(
            frame_id=frame_id,
            level_of_theory=dataset.level_of_theory,
            level_sha256=dataset.level_sha256,
            provenance=LabelProvenance.IMPORTED,
            dataset_id=dataset.id,
            status=RunStatus.DONE,
            energy_eV=energy_eV,
            forces_eV_per_A=forces_eV_per_A,
            stress_eV_per_A3=stress_eV_per_A3,
            stress_convention=STRESS_CONVENTION if stress_eV_per_A3 is not None else None,
        )
        self.session.add(label)
        return label

    def record_failure(self, frame_id: int, error: str) -> Label | None:
        """Record that labelling a frame failed outright (no CP2K result: a bug, no CP2K).

        Returns None when the frame has a finished label already: that outcome stands.
        """
        if self.is_finished(frame_id):
            return None
        label = Label(
            frame_id=frame_id,
            level_sha256=UNKNOWN_LEVEL,
            level_of_theory={},
            status=RunStatus.FAILED,
            failure_class="unit_failed",
            failure_detail=error,
            finished_at=utcnow(),
        )
        self.session.add(label)
        self.session.flush()
        return label

    def is_finished(self, frame_id: int) -> bool:
        """Whether a frame has a label that succeeded or failed (its unit is over)."""
        return (
            self.session.scalar(
                select(Label.id)
                .where(
                    Label.frame_id == frame_id,
                    Label.status.in_([RunStatus.DONE, RunStatus.FAILED]),
                )
                .limit(1)
            )
            is not None
        )

    def page(
        self, campaign_id: int, status: RunStatus | None, limit: int, offset: int
    ) -> Page[Label]:
        """A page of a campaign's labels, oldest first, optionally of one status."""
        query = (
            select(Label)
            .join(Frame, Frame.id == Label.frame_id)
            .where(Frame.campaign_id == campaign_id)
            .order_by(Label.id)
        )
        if status is not None:
            query = query.where(Label.status == status)
        return self.paginate(query, limit, offset)

    def of_frame(self, frame_id: int) -> list[Label]:
        """Labels of one frame (one per level of theory), newest first."""
        return list(
            self.session.scalars(
                select(Label).where(Label.frame_id == frame_id).order_by(Label.id.desc())
            )
        )

    def count_done(
        self,
        campaign_id: int,
        iteration_id: int | None = None,
        provenance: LabelProvenance | None = None,
    ) -> int:
        """Successful labels of a campaign's frames (of one iteration's, of one provenance)."""
        query = (
            select(func.count())
            .select_from(Label)
            .join(Frame, Frame.id == Label.frame_id)
            .where(Frame.campaign_id == campaign_id, Label.status == RunStatus.DONE)
        )
        if iteration_id is not None:
            query = query.where(Frame.iteration_id == iteration_id)
        if provenance is not None:
            query = query.where(Label.provenance == provenance)
        return int(self.session.scalar(query) or 0)

    def done_of_iteration(self, campaign_id: int, iteration_id: int) -> list[Label]:
        """Successful labels of the frames one iteration selected, by id."""
        return list(
            self.session.scalars(
                select(Label)
                .join(Frame, Frame.id == Label.frame_id)
                .where(
                    Frame.campaign_id == campaign_id,
                    Frame.iteration_id == iteration_id,
                    Label.status == RunStatus.DONE,
                )
                .order_by(Label.id)
            )
        )

    def levels(self, campaign_id: int) -> dict[str, dict[str, Any]]:
        """Level hash -> level record of a campaign's successful labels (levels are few)."""
        hashes = self.session.scalars(
            select(Label.level_sha256)
            .join(Frame, Frame.id == Label.frame_id)
            .where(Frame.campaign_id == campaign_id, Label.status == RunStatus.DONE)
            .distinct()
        ).all()
        return {
            level: self.session.scalars(
                select(Label.level_of_theory).where(Label.level_sha256 == level).limit(1)
            ).one()
            for level in hashes
        }

    def for_training(self, campaign_id: int, level_sha256: str | None = None) -> list[Label]:
        """Done labels of a campaign's frames, all of one level of theory.

        Raises
        ------
        MixedLevelsError
            If the campaign holds labels of several levels and ``level_sha256`` is None.
        """
        labels = self.session.scalars(
            select(Label)
            .join(Frame, Frame.id == Label.frame_id)
            .where(Frame.campaign_id == campaign_id, Label.status == RunStatus.DONE)
            .order_by(Label.id)
        ).all()
        if not labels:
            return []
        records = {label.level_sha256: label.level_of_theory for label in labels}
        level = single_level(records, chosen=level_sha256, records=records)
        return [label for label in labels if label.level_sha256 == level]
