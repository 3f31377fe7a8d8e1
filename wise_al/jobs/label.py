"""Label one frame with CP2K; the frame's label row holds the outcome."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wise_al.db.engine import transaction
from wise_al.db.repositories import FrameRepository, LabelRepository
from wise_al.jobs.unit import (
    Sessions,
    UnitKind,
    cancelled_check,
    index_of,
    spec_of,
)
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings
from wise_al.systems.structures import structure_from_dict


def label_frame(
    sessions: Sessions, settings: WorkerSettings, campaign_id: int, frame_id: int
) -> None:
    """Label a selected frame; a failed run is stored as a failed label with its class.

    CP2K's own result store makes a repeated task free: the same input returns the stored
    result without running again. Cancelling the campaign kills the run (locally, or the
    Slurm job) and records nothing.

    Raises
    ------
    MixedLevelsError
        Before running CP2K, if this worker would label at another level of theory than the
        campaign's labels so far (another CP2K build, changed data files): the two could
        never share a training set.
    """
    from wise_al.cp2k.failures import Failure
    from wise_al.cp2k.label import make_labeller
    from wise_al.systems.levels import MixedLevelsError, level_difference

    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
        atoms = structure_from_dict(FrameRepository(session).get(frame_id).structure)
        levels = LabelRepository(session).levels(campaign_id)
    labeller = make_labeller(settings, spec.labelling)
    record, level_sha = labeller.level(atoms)
    if levels and level_sha not in levels:
        raise MixedLevelsError(
            f"campaign {campaign_id} refuses a label at another level of theory than its "
            f"labels so far: {level_difference({**levels, level_sha: record})}"
        )
    cancelled = cancelled_check(sessions, campaign_id)
    result = labeller.label(atoms, should_stop=cancelled)
    if result.failure == Failure.CANCELLED and cancelled():
        return  # the campaign is cancelled: no label, and nothing half-made is kept
    with transaction(sessions) as session:
        LabelRepository(session).record(frame_id, result)


def _labelled(session: Session, campaign_id: int, command: Command) -> bool:
    return LabelRepository(session).is_finished(index_of(command))


def _label_failed(session: Session, campaign_id: int, command: Command, error: str) -> None:
    LabelRepository(session).record_failure(index_of(command), error)


#: One selected frame labelled by CP2K on a DFT worker; ``index`` is the frame id.
LABEL = UnitKind(
    Unit.LABEL,
    lambda sessions, settings, campaign_id, c: label_frame(
        sessions, settings, campaign_id, index_of(c)
    ),
    _labelled,
    _label_failed,
)
