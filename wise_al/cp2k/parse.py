"""Read a CP2K output: energy, forces, stress, SCF convergence, version, wall time.

Numbers leave this module in eV, eV/Å and eV/Å³ (through :mod:`wise_al.cp2k.units`).
CP2K exits 0 when the SCF did not converge, so convergence is read from the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from wise_al.cp2k import units

_ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( \w+ \) energy \[a\.u\.\]:\s+(\S+)")
_SCF_DONE = re.compile(r"\*\*\* SCF run converged in\s+(\d+) steps \*\*\*")
_SCF_LEFT = re.compile(r"Leaving inner SCF loop after reaching\s+(\d+) steps")
_SCF_FAILED = re.compile(r"SCF run NOT converged|outer SCF loop FAILED to converge")
_VERSION = re.compile(r"CP2K\| version string:\s+(.+?)\s*$", re.M)
_WALL = re.compile(r"^ CP2K\s+1\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s*$", re.M)
_ENDED = "PROGRAM ENDED AT"


@dataclass(frozen=True)
class Cp2kOutput:
    """What one CP2K single point produced (None where the output does not say)."""

    energy_eV: float | None
    forces_eV_per_A: np.ndarray | None
    stress_eV_per_A3: np.ndarray | None
    scf_converged: bool
    scf_steps: int | None  # all SCF iterations, converged or not
    version: str | None
    wall_time_s: float | None
    complete: bool  # CP2K printed its final banner (not killed, not truncated)


def _forces(text: str) -> np.ndarray | None:
    start = text.rfind("ATOMIC FORCES in [a.u.]")
    if start < 0:
        return None
    rows: list[list[float]] = []
    for line in text[start:].splitlines()[3:]:
        if line.strip().startswith("SUM OF ATOMIC FORCES"):
            return units.forces_eV_per_A(np.array(rows)) if rows else None
        fields = line.split()
        try:
            rows.append([float(v) for v in fields[3:6]])
        except ValueError:
            return None
        if len(rows[-1]) != 3:
            return None
    return None  # the block never ended: a truncated output


def _stress(text: str) -> np.ndarray | None:
    start = text.rfind("STRESS| Analytical stress tensor [GPa]")
    if start < 0:
        return None
    lines = text[start:].splitlines()[2:5]
    try:
        values = [[float(v) for v in line.split()[2:5]] for line in lines]
    except ValueError:
        return None
    if len(values) != 3 or any(len(row) != 3 for row in values):
        return None
    return units.stress_eV_per_A3(np.array(values))


def parse_output(text: str) -> Cp2kOutput:
    """Parse the main output of an ``ENERGY_FORCE`` run."""
    energies = _ENERGY.findall(text)
    steps = _SCF_DONE.findall(text)
    spent = steps + _SCF_LEFT.findall(text)  # converged and given-up inner loops alike
    version = _VERSION.search(text)
    wall = _WALL.search(text)
    return Cp2kOutput(
        energy_eV=units.energy_eV(float(energies[-1])) if energies else None,
        forces_eV_per_A=_forces(text),
        stress_eV_per_A3=_stress(text),
        scf_converged=bool(steps) and not _SCF_FAILED.search(text),
        scf_steps=sum(int(s) for s in spent) if spent else None,
        version=version.group(1) if version else None,
        wall_time_s=float(wall.group(1)) if wall else None,
        complete=_ENDED in text,
    )
