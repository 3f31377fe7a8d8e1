"""Judge a finished trajectory after the fact: the committee's deviation and the flags of
every saved frame, as walkers judge theirs while they run (MD driven by one member, the
whole committee judging saved frames only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ase import Atoms

from wise_al.exploration.frames import SavedFrame
from wise_al.flags import FlagChecker
from wise_al.uncertainty import Deviation, FrameClass, classify_deviation, frame_deviation

if TYPE_CHECKING:
    from wise_al.mace.committee import Committee

#: Frames per committee pass.
JUDGE_BATCH = 16


def judge_trajectory(
    frames: Sequence[Atoms],
    committee: Committee,
    checker: FlagChecker,
    trust_lo_eV_per_A: float,
    trust_hi_eV_per_A: float,
    step_offset: int = 0,
) -> list[SavedFrame]:
    """Every frame with its committee class and physics flags, in order.

    Parameters
    ----------
    frames
        Saved MD frames; their step is ``info["step"]`` (else their position) plus
        ``step_offset``.
    committee
        The committee that judges (a single model judges nothing: every frame is a
        candidate).
    checker
        Physics flags configured on the trajectory's start.
    trust_lo_eV_per_A, trust_hi_eV_per_A
        The trust window that classes the frames.
    """
    judged = []
    for first in range(0, len(frames), JUDGE_BATCH):
        batch = list(frames[first : first + JUDGE_BATCH])
        prediction = committee.predict(batch) if len(committee) > 1 else None
        for k, atoms in enumerate(batch):
            if prediction is None:
                deviation, frame_class = Deviation.unjudged(len(atoms)), FrameClass.CANDIDATE
            else:
                forces = prediction.forces_eV_per_A[k]
                deviation = frame_deviation(prediction.energies_eV[:, k], forces)
                frame_class = classify_deviation(
                    deviation.max_eV_per_A, trust_lo_eV_per_A, trust_hi_eV_per_A
                )
            step = int(atoms.info.get("step", first + k)) + step_offset
            flags = tuple(checker.check(atoms))
            judged.append(SavedFrame(step, atoms, deviation, frame_class, flags))
    return judged
