"""Queries on frames: filtered pages, one frame in full, and review decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ase import Atoms
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import selectinload

from wise_al.db.models import (
    Frame,
    FrameFlag,
    FrameSource,
    FrameStatus,
    Iteration,
    Label,
    Review,
    ReviewDecision,
    RunStatus,
    Validation,
    WalkerRun,
)
from wise_al.db.repositories.base import Page, Repository
from wise_al.errors import ConflictError, NotFoundError
from wise_al.systems.structures import structure_to_dict

if TYPE_CHECKING:  # the flags behind it load SciPy: the API's repositories go without
    from wise_al.exploration.onset import KeptFrame

#: Sort keys of frame listings (a leading ``-`` sorts descending).
SORTS: dict[str, Any] = {
    "id": Frame.id,
    "deviation": Frame.max_deviation_eV_per_A,
    "md_step": Frame.md_step,
}


@dataclass(frozen=True)
class FrameFilter:
    """Which frames a listing shows; every field is optional."""

    status: FrameStatus | None = None
    flag_kind: str | None = None
    min_deviation_eV_per_A: float | None = None
    max_deviation_eV_per_A: float | None = None
    iteration: int | None = None


class FrameRepository(Repository[Frame]):
    """Explored frames of campaigns."""

    model = Frame
    noun = "frame"

    def page(
        self,
        campaign_id: int,
        where: FrameFilter,
        sort: str = "id",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Frame]:
        """A page of a campaign's frames matching ``where``, sorted by ``sort``."""
        conditions: list[Any] = [Frame.campaign_id == campaign_id]
        if where.status is not None:
            conditions.append(Frame.status == where.status)
        if where.flag_kind is not None:
            conditions.append(
                exists().where(FrameFlag.frame_id == Frame.id, FrameFlag.kind == where.flag_kind)
            )
        if where.min_deviation_eV_per_A is not None:
            conditions.append(Frame.max_deviation_eV_per_A >= where.min_deviation_eV_per_A)
        if where.max_deviation_eV_per_A is not None:
            conditions.append(Frame.max_deviation_eV_per_A <= where.max_deviation_eV_per_A)
        if where.iteration is not None:
            conditions.append(
                Frame.iteration_id.in_(
                    select(Iteration.id).where(
                        Iteration.campaign_id == campaign_id, Iteration.index == where.iteration
                    )
                )
            )
        column = SORTS[sort.removeprefix("-")]
        order = column.desc() if sort.startswith("-") else column.asc()
        query = (
            select(Frame)
            .where(*conditions)
            .options(selectinload(Frame.flags))
            .order_by(order.nulls_last(), Frame.id)
        )
        return self.paginate(query, limit, offset)

    def in_campaign(self, campaign_id: int, frame_id: int, *, for_update: bool = False) -> Frame:
        """One frame of a campaign; :class:`NotFoundError` when the campaign has no such frame."""
        query = select(Frame).where(Frame.id == frame_id, Frame.campaign_id == campaign_id)
        if for_update:
            query = query.with_for_update()
        frame = self.session.scalars(query.options(selectinload(Frame.flags))).one_or_none()
        if frame is None:
            raise NotFoundError(f"campaign {campaign_id} has no frame {frame_id}")
        return frame

    def by_id(self, frame_ids: list[int]) -> dict[int, Frame]:
        """Frames by id (ids that do not exist are absent)."""
        return {f.id: f for f in self.session.scalars(select(Frame).where(Frame.id.in_(frame_ids)))}

    def provenance(self, frame: Frame) -> tuple[Iteration, WalkerRun | None, Validation | None]:
        """The iteration a frame is a candidate of, and the walker run or validation MD
        (if any) that saved it."""
        iteration = self.session.get_one(Iteration, frame.iteration_id)
        walker = self.session.get(WalkerRun, frame.walker_run_id) if frame.walker_run_id else None
        validation = None
        if frame.validation_id is not None:
            validation = self.session.get(Validation, frame.validation_id)
        return iteration, walker, validation

    def reviews(self, frame_id: int) -> list[Review]:
        """Review decisions on a frame, oldest first."""
        return list(
            self.session.scalars(
                select(Review).where(Review.frame_id == frame_id).order_by(Review.id)
            )
        )

    def reviewed_ids(self, frame_ids: list[int]) -> set[int]:
        """Which of ``frame_ids`` have a review decision."""
        if not frame_ids:
            return set()
        return set(
            self.session.scalars(
                select(Review.frame_id).where(Review.frame_id.in_(frame_ids)).distinct()
            )
        )

    def review(
        self,
        campaign_id: int,
        frame_id: int,
        reviewer: str,
        decision: ReviewDecision,
        reason: str,
    ) -> Review:
        """Accept or reject a selected frame before it is labelled; a reject needs a reason.

        Raises
        ------
        ConflictError
            The frame is not selected, was reviewed already, or has been labelled.
        """
        frame = self.in_campaign(campaign_id, frame_id, for_update=True)
        if frame.status not in (FrameStatus.SELECTED, FrameStatus.REJECTED):
            raise ConflictError(
                f"frame {frame_id} is {frame.status}: only frames selected for labelling are "
                "reviewed"
            )
        if self.reviews(frame_id):
            raise ConflictError(f"frame {frame_id} was reviewed already")
        if self.session.scalar(select(func.count()).where(Label.frame_id == frame_id)):
            raise ConflictError(f"frame {frame_id} is labelled already: too late to review it")
        review = Review(frame_id=frame_id, reviewer=reviewer, decision=decision, reason=reason)
        self.session.add(review)
        if decision == ReviewDecision.REJECT:
            frame.status = FrameStatus.REJECTED
        self.session.flush()
        return review

    def add_kept(
        self,
        kept: KeptFrame,
        descriptor: np.ndarray,
        judged: bool,
        campaign_id: int,
        iteration_id: int,
        **origin: Any,
    ) -> Frame:
        """Store a frame an MD kept (a walker's or a validation's): its verdict when a
        committee judged it, its flags and descriptor; ``origin`` names where it came from
        (``walker_run_id``, or ``validation_id`` with ``source`` and ``split_group``)."""
        frame, deviation = kept.frame, kept.frame.deviation
        row = Frame(
            campaign_id=campaign_id,
            iteration_id=iteration_id,
            md_step=frame.step,
            status=FrameStatus(str(frame.frame_class)) if judged else FrameStatus.CANDIDATE,
            max_deviation_eV_per_A=deviation.max_eV_per_A if judged else None,
            mean_deviation_eV_per_A=deviation.mean_eV_per_A if judged else None,
            energy_std_eV_per_atom=deviation.energy_std_eV_per_atom if judged else None,
            member_energies_eV=list(deviation.member_energies_eV) or None,
            atom_deviations_eV_per_A=deviation.atom_eV_per_A.tolist() if judged else None,
            n_atoms=len(frame.atoms),
            structure=structure_to_dict(frame.atoms),
            descriptor=[float(x) for x in descriptor],
            onset_of_step=kept.onset_of_step,
            **origin,
        )
        row.flags = [
            FrameFlag(kind=f.kind, atoms=list(f.atoms), value=f.value, threshold=f.threshold,
                      message=f.message)
            for f in frame.flags
        ]  # fmt: skip
        self.session.add(row)
        return row

    def add_selected(
        self,
        campaign_id: int,
        iteration_id: int,
        atoms: Atoms,
        md_step: int,
        reason: str,
        split_group: str,
    ) -> Frame:
        """Store a frame chosen for labelling without exploration (a seed cell's relaxation
        step, an imported frame)."""
        row = Frame(
            campaign_id=campaign_id,
            iteration_id=iteration_id,
            md_step=md_step,
            status=FrameStatus.SELECTED,
            selection_reason=reason,
            n_atoms=len(atoms),
            structure=structure_to_dict(atoms),
            split_group=split_group,
            source=FrameSource.SEED,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def of_iteration(self, iteration_id: int) -> list[Frame]:
        """Every stored frame of an iteration, with its flags, by id."""
        return list(
            self.session.scalars(
                select(Frame)
                .where(Frame.iteration_id == iteration_id)
                .options(selectinload(Frame.flags))
                .order_by(Frame.id)
            )
        )

    def delete_of_walker(self, walker_run_id: int) -> None:
        """Remove a walker run's frames (a restarted walker starts clean)."""
        self.session.execute(delete(Frame).where(Frame.walker_run_id == walker_run_id))

    def delete_of_validation(self, validation_id: int) -> None:
        """Remove a validation run's frames (a repeated validation stores them again)."""
        self.session.execute(delete(Frame).where(Frame.validation_id == validation_id))

    def adopt_validation_frames(
        self, campaign_id: int, validated_iteration: int, to_iteration_id: int
    ) -> int:
        """Move the unselected frames of one iteration's validation MD to the next
        iteration, whose selection they enter (it explores with the committee that judged
        them). Frames of older validations stay where they are: an older committee judged
        them. Returns how many moved."""
        validation = select(Validation.id).where(
            Validation.campaign_id == campaign_id,
            Validation.iteration_index == validated_iteration,
        )
        moved = self.session.execute(
            update(Frame)
            .where(
                Frame.validation_id.in_(validation),
                Frame.status.in_([FrameStatus.ACCURATE, FrameStatus.CANDIDATE, FrameStatus.FAILED]),
            )
            .values(iteration_id=to_iteration_id)
        )
        return int(moved.rowcount or 0)  # type: ignore[attr-defined]

    def to_label(self, iteration_id: int, gate: str) -> tuple[int, ...]:
        """Selected (and, behind a review gate, accepted) frames without a finished label."""
        finished = exists().where(
            Label.frame_id == Frame.id, Label.status.in_([RunStatus.DONE, RunStatus.FAILED])
        )
        query = select(Frame.id).where(
            Frame.iteration_id == iteration_id, Frame.status == FrameStatus.SELECTED, ~finished
        )
        if gate == "required":
            accepted = exists().where(
                Review.frame_id == Frame.id, Review.decision == ReviewDecision.ACCEPT
            )
            query = query.where(accepted)
        return tuple(self.session.scalars(query.order_by(Frame.id)))

    def awaiting_review(self, iteration_id: int) -> int:
        """Selected frames of an iteration with no review decision yet."""
        return int(
            self.session.scalar(
                select(func.count()).where(
                    Frame.iteration_id == iteration_id,
                    Frame.status == FrameStatus.SELECTED,
                    ~exists().where(Review.frame_id == Frame.id),
                )
            )
            or 0
        )
