"""Li⁺–Li⁺ contacts: the failure signature of potentials trained from scratch.

Two Li⁺ closer than a few Å repel strongly in reality; a potential that lets them meet
and stay invents structure. Reported per trajectory: how many frames hold a contact, what
fraction of the Li⁺ are in one, and how long contacts last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from wise_al.systems.neighbours import pairs_within

#: The physics flag's default Li–Li minimum distance (wise_al.campaign_spec.exploration).
LI_LI_CONTACT_A = 2.6


@dataclass(frozen=True)
class LiLiContacts:
    """Li⁺–Li⁺ contacts over a trajectory.

    Attributes
    ----------
    distance_A
        Two Li⁺ closer than this are in contact.
    frame_fraction
        Fraction of frames holding at least one contact.
    li_fraction
        Fraction of Li⁺ in a contact, averaged over frames.
    mean_lifetime_frames, max_lifetime_frames
        Consecutive frames a pair stays in contact (0 without contacts); a contact still
        open at the end counts to the last frame.
    closest_A, mean_closest_A
        The closest Li⁺–Li⁺ distance (minimum image) of the whole trajectory, and that of
        each frame averaged over frames (None with fewer than two Li⁺).
    """

    distance_A: float
    frame_fraction: float
    li_fraction: float
    mean_lifetime_frames: float
    max_lifetime_frames: int
    closest_A: float | None = None
    mean_closest_A: float | None = None


def closest_li_li_A(atoms: Atoms) -> float | None:
    """The closest Li⁺–Li⁺ distance of a frame (minimum image), or None with under two Li⁺."""
    lithium = np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == "Li")
    if len(lithium) < 2:
        return None
    distances = atoms[lithium].get_all_distances(mic=True)
    return float(distances[np.triu_indices(len(lithium), 1)].min())


def li_li_contacts(frames: Sequence[Atoms], distance_A: float = LI_LI_CONTACT_A) -> LiLiContacts:
    """Count Li⁺–Li⁺ pairs closer than ``distance_A`` in every frame of a trajectory."""
    with_contact, li_share = 0, []
    open_runs: dict[tuple[int, int], int] = {}
    lifetimes: list[int] = []
    for atoms in frames:
        lithium = np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == "Li")
        pairs = pairs_within(atoms[lithium], distance_A) if len(lithium) > 1 else None
        now = set()
        if pairs is not None and len(pairs):
            now = {
                (int(lithium[i]), int(lithium[j])) for i, j in zip(pairs.i, pairs.j, strict=True)
            }
        with_contact += bool(now)
        touched = {k for pair in now for k in pair}
        li_share.append(len(touched) / len(lithium) if len(lithium) else 0.0)
        for pair in list(open_runs):
            if pair not in now:
                lifetimes.append(open_runs.pop(pair))
        for pair in now:
            open_runs[pair] = open_runs.get(pair, 0) + 1
    lifetimes += open_runs.values()
    closest = [d for d in map(closest_li_li_A, frames) if d is not None]
    return LiLiContacts(
        distance_A=distance_A,
        frame_fraction=with_contact / len(frames) if frames else 0.0,
        li_fraction=float(np.mean(li_share)) if li_share else 0.0,
        mean_lifetime_frames=float(np.mean(lifetimes)) if lifetimes else 0.0,
        max_lifetime_frames=max(lifetimes, default=0),
        closest_A=min(closest) if closest else None,
        mean_closest_A=float(np.mean(closest)) if closest else None,
    )
