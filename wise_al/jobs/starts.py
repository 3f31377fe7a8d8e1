"""Where MD starts: cells that pass the physics flags, remade (with the reason) when not.

A broken start (two Li⁺ in contact, overlapping atoms) teaches nothing and spoils every
frame after it, so no walker and no validation starts from one. Walkers may continue from
the previous iteration's last intact frames, so MD time accumulates over iterations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ase import Atoms
from ase.io import read

from wise_al.campaign_spec import CampaignSpec
from wise_al.errors import WiseAlError
from wise_al.flags.checker import FlagChecker, breaks_run
from wise_al.jobs.pack import packed_system

if TYPE_CHECKING:
    from wise_al.mace.committee import Committee

#: Packed cells tried (seed, seed + 1, ...) before a start is given up on.
START_TRIES = 5


@dataclass(frozen=True)
class Start:
    """A start cell, how it was made, and why earlier candidates were refused."""

    atoms: Atoms
    origin: str
    refused: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready record (kept with the run that started here)."""
        return {"origin": self.origin, "refused": list(self.refused)}


def why_broken(
    atoms: Atoms,
    spec: CampaignSpec,
    temperature_K: float | None,
    reference: Atoms | None = None,
) -> str | None:
    """The first flag that breaks ``atoms`` as a start (a Li⁺ contact, an overlap, and,
    against a ``reference`` it was run from, a broken molecule), or None."""
    checker = FlagChecker(spec.flags, atoms if reference is None else reference, temperature_K)
    broken = [flag for flag in checker.check(atoms) if breaks_run(flag, atoms)]
    return broken[0].message if broken else None


def bare(atoms: Atoms) -> Atoms:
    """The structure alone, momenta zero (MD draws new ones): no labels, no annotations."""
    return Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)


def packed_start(
    spec: CampaignSpec, seed: int, committee: Committee, temperature_K: float | None
) -> Start:
    """A packmol cell relaxed on ``committee`` that passes the flags.

    The relaxed cell is refused when the committee's minimum is broken (a potential that
    fuses Li⁺ pulls them together while relaxing): the packed cell itself is taken then,
    if intact; otherwise the next seed is packed.

    Raises
    ------
    WiseAlError
        When :data:`START_TRIES` seeds give no intact cell (the reasons, one per seed).
    """
    from wise_al.md.relax import relax_start

    refused: list[str] = []
    for k in range(START_TRIES):
        packed = packed_system(spec.system, seed + k)
        relaxed, _ = relax_start(packed, committee)
        why = why_broken(relaxed, spec, temperature_K)
        if why is None:
            return Start(relaxed, f"packed (seed {seed + k}) and relaxed", refused)
        refused.append(f"seed {seed + k} relaxed: {why}")
        why = why_broken(packed, spec, temperature_K)
        if why is None:
            return Start(packed, f"packed (seed {seed + k}), unrelaxed", refused)
        refused.append(f"seed {seed + k} packed: {why}")
    raise WiseAlError("no intact start cell: " + "; ".join(refused))


def last_intact_frame(
    trajectory: Path, spec: CampaignSpec, temperature_K: float | None
) -> tuple[Atoms, int] | None:
    """The last frame of ``trajectory`` before it broke, and its position; None when the
    file is missing or its very first frame is broken."""
    if not trajectory.is_file():
        return None
    frames = read(trajectory, ":")
    assert isinstance(frames, list)
    if not frames:
        return None
    checker = FlagChecker(spec.flags, frames[0], temperature_K)
    last = None
    for k, atoms in enumerate(frames):
        if any(breaks_run(flag, atoms) for flag in checker.check(atoms)):
            break
        last = k
    return None if last is None else (bare(frames[last]), last)


def continued_start(
    trajectories: list[tuple[str, Path]], spec: CampaignSpec, temperature_K: float | None
) -> Start | None:
    """The last intact frame of the first of the (name, path) ``trajectories`` that has one
    (new velocities are drawn by the MD), or None."""
    refused: list[str] = []
    for name, path in trajectories:
        found = last_intact_frame(path, spec, temperature_K)
        if found is not None:
            atoms, k = found
            return Start(atoms, f"continues {name} at frame {k}", refused)
        refused.append(f"{name}: missing or broken from its start")
    return None
