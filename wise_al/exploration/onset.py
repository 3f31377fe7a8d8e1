"""Which frames of a judged trajectory become candidates: a failure's onset, not its end.

When a trajectory breaks (two Li⁺ in contact, a broken molecule, an overlap, a runaway
temperature) the frames worth labelling are the ones leading into it: the model was still
in physical space there and already wrong. The collapsed state after the break has forces
DFT answers with tens of eV/Å, which the training's outlier filter throws away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wise_al.exploration.frames import SavedFrame
from wise_al.systems.labelable import structure_problem

#: Frames kept before the first breaking frame (with it: the onset of the failure).
ONSET_FRAMES = 3


@dataclass(frozen=True)
class KeptFrame:
    """A saved frame kept as a candidate; ``onset_of_step`` is the step its trajectory
    broke at when the frame leads into that break (None otherwise)."""

    frame: SavedFrame
    onset_of_step: int | None = None


def breaking_index(frames: Sequence[SavedFrame]) -> int | None:
    """Position of the first frame whose flags break the run, or None for an intact run."""
    for k, frame in enumerate(frames):
        if frame.unphysical:
            return k
    return None


def kept_frames(
    frames: Sequence[SavedFrame],
    *,
    keep_all: bool,
    onset_frames: int = ONSET_FRAMES,
    audit: int = 0,
    seed: int = 0,
) -> list[KeptFrame]:
    """The candidates of one trajectory, in time order.

    Parameters
    ----------
    frames
        The trajectory's saved frames, judged and flagged, in time order.
    keep_all
        Keep every frame before the break (no committee judged them, or a baseline
        selection draws from all); otherwise only flagged frames and those the committee
        did not call accurate.
    onset_frames
        How many frames before the first breaking frame are kept with it, whatever their
        class: the onset of the failure. A frame no labeller accepts (two atoms under
        0.5 Å, :func:`~wise_al.systems.labelable.structure_problem`) is never kept: its
        label would be lost.
    audit, seed
        Also keep this many of the frames the committee called accurate, drawn at random
        (``seed``): selection may audit them, so calibration sees every class.
    """
    broke = breaking_index(frames)
    end = len(frames) if broke is None else broke + 1
    onset_from = end if broke is None else max(0, broke - onset_frames)
    kept, dropped = [], []
    for k, frame in enumerate(frames[:end]):
        if structure_problem(frame.atoms) is not None:
            continue  # atoms on top of each other: no DFT code labels that frame
        if k >= onset_from:
            assert broke is not None
            kept.append(KeptFrame(frame, frames[broke].step))
        elif keep_all or frame.flags or str(frame.frame_class) != "accurate":
            kept.append(KeptFrame(frame))
        else:
            dropped.append(KeptFrame(frame))
    if audit and dropped:
        draw = np.random.default_rng(seed).choice(len(dropped), min(audit, len(dropped)), False)
        kept += [dropped[k] for k in draw]
    return sorted(kept, key=lambda k: k.frame.step)
