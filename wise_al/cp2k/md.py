"""CP2K's own MD (GFN1-xTB or DFT): the reference trajectories a potential is scored against.

The stand-in, on a small cell, for the AIMD a study compares with: CP2K integrates the
trajectory itself (CSVR thermostat, NVT), and every saved frame carries the energy and
forces CP2K computed there, at the same level of theory as the campaign's labels. A run
whose SCF failed to converge at any step is refused whole: its frames are not the truth.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k import units
from wise_al.cp2k.input import build_input, render_input
from wise_al.cp2k.installation import Cp2kInstallation
from wise_al.cp2k.level import level_of_theory, preflight
from wise_al.cp2k.parse import scf_failed
from wise_al.cp2k.run import LaunchProfile, run_cp2k
from wise_al.errors import WiseAlError
from wise_al.systems.labelled import labelled_frame
from wise_al.systems.levels import sha256_of

PROJECT = "md"
RELAX_PROJECT = "relax"
_STEP = re.compile(r"i\s*=\s*(\d+)")
_ENERGY = re.compile(r"E\s*=\s*(\S+)")


@dataclass(frozen=True)
class ReferenceMdParameters:
    """One CP2K NVT run: CSVR thermostat at ``temperature_K``, ``steps`` after
    ``equilibration_steps`` (run, not kept), a frame every ``save_every`` steps."""

    temperature_K: float
    steps: int
    timestep_fs: float = 0.5
    save_every: int = 10
    equilibration_steps: int = 0
    thermostat_fs: float = 50.0
    seed: int = 0


def md_input(spec: LabellingSpec, atoms: Atoms, md: ReferenceMdParameters) -> dict[str, Any]:
    """The CP2K input of a reference run: the label's force evaluation, moved by CP2K's MD."""
    tree = build_input(spec, atoms, project=PROJECT)
    # CP2K's random streams refuse a seed of 0: ours start at 0, CP2K's at 1
    tree["global"] |= {"run_type": "MD", "seed": md.seed + 1}
    force_eval = tree["force_eval"]
    force_eval.pop("stress_tensor", None)  # not printed per step: not a reference number here
    del force_eval["print"]  # forces go to the trajectory files, not the output per step
    each = {"md": md.save_every}
    tree["motion"] = {
        "md": {
            "ensemble": "NVT",
            "steps": md.equilibration_steps + md.steps,
            "timestep": md.timestep_fs,
            "temperature": md.temperature_K,
            "thermostat": {"type": "CSVR", "csvr": {"timecon": md.thermostat_fs}},
        },
        "print": {
            "trajectory": {"format": "XYZ", "each": each},
            "forces": {"format": "XYZ", "each": each},
        },
    }
    return tree


def relax_input(
    spec: LabellingSpec, atoms: Atoms, max_steps: int, fixed: Sequence[int] = ()
) -> dict[str, Any]:
    """A CP2K geometry optimisation (LBFGS) at the label's level, fixed cell; the atoms
    ``fixed`` (0-based) keep their positions (a constrained scan)."""
    tree = build_input(spec, atoms, project=RELAX_PROJECT)
    tree["global"]["run_type"] = "GEO_OPT"
    force_eval = tree["force_eval"]
    force_eval.pop("stress_tensor", None)
    del force_eval["print"]
    tree["motion"] = {
        "geo_opt": {"optimizer": "LBFGS", "max_iter": max_steps},
        "print": {"trajectory": {"format": "XYZ"}},
    }
    if fixed:
        # CP2K numbers atoms from 1
        tree["motion"]["constraint"] = {
            "fixed_atoms": {"list": " ".join(str(k + 1) for k in fixed)}
        }
    return tree


def relaxation_path(
    spec: LabellingSpec,
    atoms: Atoms,
    max_steps: int,
    cp2k: Cp2kInstallation,
    profile: LaunchProfile,
    directory: Path,
    fixed: Sequence[int] = (),
) -> list[Atoms]:
    """``atoms`` relaxed by CP2K for at most ``max_steps``, every geometry on the way: the
    given one first, the relaxed one last (a packed cell's close contacts would otherwise
    heat its first MD steps far above the thermostat's temperature). Atoms ``fixed``
    (0-based) do not move.

    Raises
    ------
    WiseAlError
        If CP2K failed or wrote no geometry.
    """
    text = render_input(relax_input(spec, atoms, max_steps, fixed))
    cp2k.validate(text)
    outcome = run_cp2k(text, directory, profile)
    blocks = (
        _xyz_blocks(directory / f"{RELAX_PROJECT}-pos-1.xyz") if outcome.output.exists() else []
    )
    if outcome.timed_out or not blocks:
        raise WiseAlError(f"relaxing the start with CP2K failed; see {outcome.output}")
    path = [atoms.copy()]
    for _, symbols, positions in blocks:
        if symbols != atoms.get_chemical_symbols():
            raise WiseAlError(f"relaxing the start with CP2K wrote another structure ({directory})")
        if not np.allclose(positions, path[-1].positions, atol=1e-6):
            path.append(Atoms(symbols, positions, cell=atoms.cell, pbc=atoms.pbc))
    return path


def _xyz_blocks(path: Path) -> list[tuple[str, list[str], np.ndarray]]:
    """(comment, symbols, 3-vectors) of every frame of a CP2K xyz file."""
    lines = path.read_text().splitlines()
    blocks, k = [], 0
    while k < len(lines) and lines[k].strip():
        n = int(lines[k])
        rows = [line.split() for line in lines[k + 2 : k + 2 + n]]
        if len(rows) < n:
            break  # a frame cut short by a kill: not a frame
        values = np.array([[float(v) for v in row[1:4]] for row in rows])
        blocks.append((lines[k + 1], [row[0] for row in rows], values))
        k += n + 2
    return blocks


def read_reference_frames(
    directory: Path, template: Atoms, md: ReferenceMdParameters, level: dict[str, Any]
) -> list[Atoms]:
    """The saved frames of a finished run, labelled (eV, eV/Å) and annotated with their step,
    time and temperature; the start and equilibration frames are dropped."""
    positions = _xyz_blocks(directory / f"{PROJECT}-pos-1.xyz")
    forces = _xyz_blocks(directory / f"{PROJECT}-frc-1.xyz")
    level_sha = sha256_of(level)
    frames = []
    for (comment, symbols, xyz), (_, _, frc) in zip(positions, forces, strict=False):
        step = int(_STEP.search(comment).group(1))  # type: ignore[union-attr]
        if step <= md.equilibration_steps or symbols != template.get_chemical_symbols():
            continue
        energy = units.energy_eV(float(_ENERGY.search(comment).group(1)))  # type: ignore[union-attr]
        atoms = Atoms(symbols, xyz, cell=template.cell, pbc=template.pbc)
        frame = labelled_frame(
            atoms,
            energy,
            units.forces_eV_per_A(frc),
            level_sha256=level_sha,
            group=f"reference-md-{md.temperature_K:g}K",
        )
        frame.info |= {
            "md_step": step,
            "time_fs": step * md.timestep_fs,
            "temperature_K": md.temperature_K,
        }
        frames.append(frame)
    return frames


@dataclass(frozen=True)
class ReferenceRun:
    """A finished reference run: its frames, what CP2K's thermostat held, the level."""

    frames: list[Atoms]
    mean_temperature_K: float
    level_of_theory: dict[str, Any]
    wall_time_s: float


def mean_temperature_K(directory: Path, from_step: int) -> float:
    """CP2K's instantaneous temperature (``md-1.ener``) averaged after ``from_step``."""
    table = np.loadtxt(directory / f"{PROJECT}-1.ener", ndmin=2)
    kept = table[table[:, 0] > from_step]
    return float(kept[:, 3].mean()) if len(kept) else float("nan")


def run_reference_md(
    spec: LabellingSpec,
    atoms: Atoms,
    md: ReferenceMdParameters,
    cp2k: Cp2kInstallation,
    profile: LaunchProfile,
    directory: Path,
) -> ReferenceRun:
    """Run CP2K's MD from ``atoms``: its labelled frames and mean temperature.

    Raises
    ------
    WiseAlError
        If CP2K failed, timed out, or did not converge an SCF at some step.
    """
    preflight(spec, atoms.get_chemical_symbols(), cp2k)
    level = level_of_theory(spec, atoms.get_chemical_symbols(), cp2k)
    text = render_input(md_input(spec, atoms, md))
    cp2k.validate(text)
    outcome = run_cp2k(text, directory, profile)
    output = outcome.output.read_text(errors="replace") if outcome.output.exists() else ""
    where = f"reference MD at {md.temperature_K:g} K ({directory})"
    if outcome.timed_out:
        raise WiseAlError(f"{where}: timed out after {profile.time_limit_s:g} s")
    if outcome.returncode != 0 or "PROGRAM ENDED AT" not in output:
        raise WiseAlError(f"{where}: CP2K exited {outcome.returncode}; see {outcome.output}")
    if scf_failed(output):
        raise WiseAlError(
            f"{where}: an SCF did not converge within labelling.max_scf at some step; its "
            "frames are not a reference (raise max_scf, or start from a relaxed cell)"
        )
    frames = read_reference_frames(directory, atoms, md, level)
    if not frames:
        raise WiseAlError(f"{where}: no frame was saved")
    temperature = mean_temperature_K(directory, md.equilibration_steps)
    return ReferenceRun(frames, temperature, level, outcome.wall_time_s)
