"""The truth every arm is scored on, at the labels' own level of theory (CP2K).

- **Reference MD**: CP2K's NVT MD of a relaxed packed cell at each temperature, run in
  segments (each from the last frame of the one before, with new velocities, so a long
  run survives interruptions); every saved frame carries CP2K's energy and forces.
- **Li⁺–Li⁺ scan**: two Li⁺ of an equilibrated reference frame moved along the line
  joining them to each distance, held there while CP2K relaxes everything else; the
  start, middle and end of each relaxation are labelled. Frames under 2.6 Å are the
  **contact set**: the failure the loop exists to catch, which no reference MD visits.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from benchmarks.label_efficiency import cache
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.md import ReferenceMdParameters, relaxation_path, run_reference_md
from wise_al.cp2k.run import LaunchProfile
from wise_al.errors import WiseAlError
from wise_al.observables.contacts import LI_LI_CONTACT_A, closest_li_li_A, li_li_contacts
from wise_al.systems.cells import pack_cell
from wise_al.systems.labelled import labelled_frame

#: The demo's cell: 2 LiTFSI + 5 H2O at the 21 m density, 47 atoms.
CELL = {"LiTFSI": 2, "H2O": 5}
DENSITY_G_PER_CM3 = 1.7126
TIMESTEP_FS = 0.5
#: Steps run (not kept) before the first segment at each temperature.
EQUILIBRATION_STEPS = 200


@dataclass(frozen=True)
class Truth:
    """Labelled reference frames, the held-out sets drawn from them, fixed MD starts."""

    md: list[Atoms]
    scan: list[Atoms]
    random_set: list[Atoms]
    contact_set: list[Atoms]
    starts: list[Atoms]


def _bare(atoms: Atoms) -> Atoms:
    return Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True)


def cp2k_label(labeller: Labeller, atoms: Atoms, group: str) -> Atoms | str:
    """``atoms`` labelled by CP2K (with ``group`` as split group), or why CP2K did not."""
    result = labeller.label(atoms)
    if not result.ok or result.energy_eV is None:
        return str(result.failure)
    return labelled_frame(
        atoms, result.energy_eV, result.forces_eV_per_A,
        level_sha256=result.level_sha256, group=group,
    )  # fmt: skip


def relaxed_cell(seed: int, labeller: Labeller, profile: LaunchProfile, work: Path) -> Atoms:
    """A packed cell relaxed by CP2K (60 LBFGS steps at most): a start that does not heat."""

    def make() -> list[Atoms]:
        packed = pack_cell(CELL, density_g_per_cm3=DENSITY_G_PER_CM3, seed=seed)
        path = relaxation_path(labeller.spec, packed, 60, labeller.cp2k, profile, work / "run")
        shutil.rmtree(work / "run", ignore_errors=True)
        return [path[-1]]

    return _bare(cache.frames(work / "relaxed.extxyz", make)[0])


def reference_md(
    labeller: Labeller,
    profile: LaunchProfile,
    temperatures_K: Sequence[float],
    total_ps: float,
    segment_ps: float,
    save_every_fs: float,
    work: Path,
    say: Callable[[str], None] = print,
) -> list[Atoms]:
    """``total_ps`` of CP2K MD shared evenly between the temperatures, in segments."""
    segment_steps = round(segment_ps * 1000 / TIMESTEP_FS)
    save_every = max(1, round(save_every_fs / TIMESTEP_FS))
    segments = math.ceil(total_ps / len(temperatures_K) / segment_ps)
    frames: list[Atoms] = []
    for temperature in temperatures_K:
        # seeds follow the temperature, not its position: runs at one temperature each
        # (in parallel) fill the same cache as one run over all of them
        here, seed = work / f"{temperature:g}K", round(temperature)
        start = relaxed_cell(seed, labeller, profile, here)
        for s in range(segments):
            md = ReferenceMdParameters(
                temperature,
                steps=segment_steps,
                timestep_fs=TIMESTEP_FS,
                save_every=save_every,
                equilibration_steps=EQUILIBRATION_STEPS if s == 0 else 0,
                thermostat_fs=50.0,
                seed=1000 * seed + s,
            )

            def make(
                md: ReferenceMdParameters = md, start: Atoms = start, here: Path = here, s: int = s
            ) -> list[Atoms]:
                run = run_reference_md(
                    labeller.spec, start, md, labeller.cp2k, profile, here / "run"
                )
                shutil.rmtree(here / "run", ignore_errors=True)
                say(
                    f"reference MD {md.temperature_K:g} K segment {s + 1}/{segments}: "
                    f"{len(run.frames)} frames, mean {run.mean_temperature_K:.0f} K, "
                    f"{run.wall_time_s:.0f} s"
                )
                return run.frames

            segment = cache.frames(here / f"segment-{s:03d}.extxyz", make)
            for frame in segment:  # time counted over the whole chain of segments
                frame.info["time_fs"] = s * segment_ps * 1000 + frame.info["time_fs"]
                frame.info["segment"] = s
            frames += segment
            start = _bare(segment[-1])
    return frames


def packed_starts(count: int) -> list[Atoms]:
    """``count`` packmol cells (seeds 0, 1, ...): the product's validation starts from its
    campaign's packed cell, where a potential that never saw Li⁺ close can pull two in."""
    return [pack_cell(CELL, density_g_per_cm3=DENSITY_G_PER_CM3, seed=s) for s in range(count)]


def reference_contacts(md: Sequence[Atoms]) -> dict[str, dict[str, float | None]]:
    """Li⁺–Li⁺ contacts of the reference MD at each temperature: how close the labels' own
    physics brings two Li⁺ (a model's contact is a failure only where the truth has none)."""
    found = {}
    for temperature in sorted({a.info["temperature_K"] for a in md}):
        contacts = li_li_contacts([a for a in md if a.info["temperature_K"] == temperature])
        found[f"{temperature:g}"] = {
            "closest_li_li_A": contacts.closest_A,
            "frames_in_contact": contacts.frame_fraction,
            "contact_A": contacts.distance_A,
        }
    return found


def pulled(cell: Atoms, lithium: tuple[int, int], distance_A: float) -> Atoms:
    """``cell`` with its two Li⁺ moved symmetrically along their axis to ``distance_A``."""
    atoms = _bare(cell)
    a, b = lithium
    axis = atoms.get_distance(a, b, mic=True, vector=True)
    middle = atoms.positions[a] + axis / 2
    unit = axis / np.linalg.norm(axis)
    atoms.positions[a] = middle - unit * distance_A / 2
    atoms.positions[b] = middle + unit * distance_A / 2
    atoms.wrap()
    return atoms


def li_li_scan(
    labeller: Labeller,
    profile: LaunchProfile,
    cell: Atoms,
    distances_A: Sequence[float],
    relax_steps: int,
    work: Path,
    say: Callable[[str], None] = print,
) -> list[Atoms]:
    """Labelled frames of the constrained scan, each with ``li_li_A`` and its ``scan_stage``."""
    found = [int(k) for k in np.flatnonzero(cell.numbers == 3)]
    if len(found) != 2:
        raise WiseAlError(f"the scan pulls two Li⁺ together; the cell holds {len(found)}")
    lithium = (found[0], found[1])
    frames: list[Atoms] = []
    for distance in distances_A:
        here = work / f"{distance:.2f}A"

        def make(distance: float = distance, here: Path = here) -> list[Atoms]:
            start = pulled(cell, lithium, distance)
            try:
                path = relaxation_path(
                    labeller.spec,
                    start,
                    relax_steps,
                    labeller.cp2k,
                    profile,
                    here / "run",
                    fixed=lithium,
                )
            except WiseAlError as exc:
                say(f"scan {distance:.2f} Å: the relaxation failed ({exc}); start frame only")
                path = [start]
            shutil.rmtree(here / "run", ignore_errors=True)
            picks = {"start": path[0], "middle": path[len(path) // 2], "relaxed": path[-1]}
            labelled = []
            for stage, atoms in picks.items():
                frame = cp2k_label(labeller, atoms, "li-li-scan")
                if isinstance(frame, str):
                    say(f"scan {distance:.2f} Å {stage}: not labelled ({frame})")
                    continue
                frame.info |= {
                    "li_li_A": closest_li_li_A(atoms),
                    "scan_stage": stage,
                    "relax_steps": len(path) - 1,
                }
                labelled.append(frame)
            say(
                f"scan {distance:.2f} Å: {len(path) - 1} relaxation steps, "
                f"{len(labelled)} frames labelled"
            )
            return labelled

        frames += cache.frames(here / "frames.extxyz", make)
    return frames


def held_out(md: list[Atoms], scan: list[Atoms], random_frames: int, starts: int) -> Truth:
    """The random set (a seeded draw of reference frames), the contact set (scan frames
    under :data:`~wise_al.observables.contacts.LI_LI_CONTACT_A`) and the survival MD's
    starts (reference frames evenly spaced over every run, never in the random set)."""
    start_at = sorted({round(j) for j in np.linspace(len(md) / (2 * starts), len(md) - 1, starts)})
    rest = [k for k in range(len(md)) if k not in start_at]
    draw = np.random.default_rng(12345).permutation(len(rest))[:random_frames]
    # 1 mÅ below the limit: a scan point set at 2.6 Å is not a contact
    contact = [a for a in scan if a.info["li_li_A"] < LI_LI_CONTACT_A - 1e-3]
    return Truth(
        md=md,
        scan=scan,
        random_set=[md[rest[k]] for k in sorted(draw)],
        contact_set=contact,
        starts=[_bare(md[k]) for k in start_at],
    )
