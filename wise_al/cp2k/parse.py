"""Read a CP2K output: energy, forces, stress, SCF convergence, version, wall time.

Numbers leave this module in eV, eV/Å and eV/Å³ (through :mod:`wise_al.cp2k.units`).
CP2K exits 0 when the SCF did not converge (2023.x), so convergence is read from the text.

Two output dialects are known, both recorded under tests/data/cp2k_outputs:

- **2023.1 to 2024.3**: ``ENERGY| ... energy [a.u.]:``, an ``ATOMIC FORCES in [a.u.]``
  table with kind and element columns closed by ``SUM OF ATOMIC FORCES``, and
  ``STRESS| Analytical stress tensor [GPa]``;
- **2025.1 and 2025.2**: ``ENERGY| ... energy [hartree]`` (no colon), ``FORCES|`` rows under
  ``FORCES| Atomic forces [hartree/bohr]`` closed by ``FORCES| Sum``, and the stress in the
  unit its header names (``bar`` by default).

From 2024.1 an unconverged SCF aborts the run instead of warning (CP2K's new default of
``IGNORE_CONVERGENCE_FAILURE``): :mod:`wise_al.cp2k.failures` reads that abort as an SCF
failure, not a crash. A version outside :data:`KNOWN_VERSIONS` is refused before labelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from wise_al.cp2k import units

#: CP2K releases whose output this module reads (by the source of their print routines).
KNOWN_VERSIONS = ("2023.1", "2023.2", "2024.1", "2024.2", "2024.3", "2025.1", "2025.2")

_ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( \w+ \) energy \[(a\.u\.|hartree)\]:?\s+(\S+)")
_SCF_DONE = re.compile(r"\*\*\* SCF run converged in\s+(\d+) steps \*\*\*")
_SCF_LEFT = re.compile(r"Leaving inner SCF loop after reaching\s+(\d+) steps")
_SCF_FAILED = re.compile(r"SCF run NOT converged|outer SCF loop FAILED to converge")
_VERSION = re.compile(r"CP2K\| version string:\s+(.+?)\s*$", re.M)
_WALL = re.compile(r"^ CP2K\s+1\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s*$", re.M)
_STRESS = re.compile(r"STRESS\| Analytical stress tensor \[(\w+)\]")
_ENDED = "PROGRAM ENDED AT"
#: Stress print units to GPa (CP2K's ``STRESS_UNIT`` choices).
_STRESS_TO_GPA = {"GPa": 1.0, "bar": 1e-4}


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


def release(version_string: str) -> str | None:
    """``2025.1`` from ``CP2K version 2025.1`` (or from ``2025.1`` itself)."""
    found = re.search(r"(\d{4}\.\d+)", version_string)
    return found.group(1) if found else None


def _rows(lines: list[str], first: int, ends: str) -> np.ndarray | None:
    """Force components from field ``first`` on, until a line starting with ``ends``."""
    rows: list[list[float]] = []
    for line in lines:
        if line.strip().startswith(ends):
            return units.forces_eV_per_A(np.array(rows)) if rows else None
        try:
            row = [float(v) for v in line.split()[first : first + 3]]
        except ValueError:
            return None
        if len(row) != 3:
            return None
        rows.append(row)
    return None  # the block never ended: a truncated output


def _forces(text: str) -> np.ndarray | None:
    legacy = text.rfind("ATOMIC FORCES in [a.u.]")
    current = text.rfind("FORCES| Atomic forces [hartree/bohr]")
    if current > legacy:  # 2025.1+: "FORCES| <atom> x y z |f|"
        return _rows(text[current:].splitlines()[2:], 2, "FORCES| Sum")
    if legacy >= 0:  # "<atom> <kind> <element> x y z"
        return _rows(text[legacy:].splitlines()[3:], 3, "SUM OF ATOMIC FORCES")
    return None


def _stress(text: str) -> np.ndarray | None:
    headers = list(_STRESS.finditer(text))
    if not headers or headers[-1].group(1) not in _STRESS_TO_GPA:
        return None
    last = headers[-1]
    lines = text[last.start() :].splitlines()[2:5]
    try:
        values = [[float(v) for v in line.split()[2:5]] for line in lines]
    except ValueError:
        return None
    if len(values) != 3 or any(len(row) != 3 for row in values):
        return None
    return units.stress_eV_per_A3(np.array(values) * _STRESS_TO_GPA[last.group(1)])


def scf_failed(text: str) -> bool:
    """Whether any SCF of a run (one per MD step, say) failed to converge."""
    return _SCF_FAILED.search(text) is not None


def parse_output(text: str) -> Cp2kOutput:
    """Parse the main output of an ``ENERGY_FORCE`` run (any of :data:`KNOWN_VERSIONS`)."""
    energies = _ENERGY.findall(text)
    steps = _SCF_DONE.findall(text)
    spent = steps + _SCF_LEFT.findall(text)  # converged and given-up inner loops alike
    version = _VERSION.search(text)
    wall = _WALL.search(text)
    return Cp2kOutput(
        energy_eV=units.energy_eV(float(energies[-1][1])) if energies else None,
        forces_eV_per_A=_forces(text),
        stress_eV_per_A3=_stress(text),
        scf_converged=bool(steps) and not _SCF_FAILED.search(text),
        scf_steps=sum(int(s) for s in spent) if spent else None,
        version=version.group(1) if version else None,
        wall_time_s=float(wall.group(1)) if wall else None,
        complete=_ENDED in text,
    )
