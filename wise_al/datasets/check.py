"""Check an uploaded extxyz frame by frame: every refusal names the frame and the field.

Two kinds of upload:

- ``labelled``: frames with mace's keys ``REF_energy`` (eV), ``REF_forces`` (eV/Å, one row
  per atom) and optionally ``REF_stress`` (eV/Å³, ASE's sign: ``(1/V) dE/dstrain``), at one
  declared level of theory;
- ``structures``: starting cells (equilibrated boxes for walkers and production MD); labels,
  if present, are ignored.

Units cannot be read from an extxyz file, so the check refuses magnitudes no eV / Å file
has: a force above :data:`MAX_FORCE_EV_PER_A` or a stress above :data:`MAX_STRESS_EV_PER_A3`
(160 GPa) is a file in Hartree/Bohr, GPa or bar.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms

from wise_al.datasets.prescan import (
    MAX_ATOMS_PER_FRAME,
    MAX_LENGTH_A,
    MIN_DISTANCE_A,
    cell_problem,
    prescan,
)
from wise_al.datasets.rejected import DatasetRejected
from wise_al.systems.neighbours import pairs_within

__all__ = ["DatasetRejected", "DatasetSummary", "check_dataset"]  # DatasetRejected re-exported

Kind = Literal["labelled", "structures"]

#: Largest force an eV/Å label plausibly carries; above it the file is in other units.
MAX_FORCE_EV_PER_A = 1000.0
#: 160 GPa: a stress in eV/Å³ above it is a file in GPa or bar.
MAX_STRESS_EV_PER_A3 = 1.0
#: An energy per atom beyond this (eV) is not an energy in eV of any real system.
MAX_ENERGY_EV_PER_ATOM = 1e5
#: ``info`` keys some writers use to declare units; anything but eV is refused.
UNIT_KEYS = ("energy_unit", "energy_units", "units")
#: Oganesson: a larger Z is no element.
MAX_ATOMIC_NUMBER = 118


@dataclass
class DatasetSummary:
    """What a checked file holds (stored with the dataset, shown by the API)."""

    kind: Kind
    frames: int = 0
    atoms_min: int = 0
    atoms_max: int = 0
    elements: list[str] = field(default_factory=list)
    periodic_frames: int = 0
    stress_frames: int = 0
    energy_per_atom_eV: list[float] = field(default_factory=list)  # [min, max]
    max_force_eV_per_A: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _frames(path: Path) -> Iterator[tuple[int, Atoms]]:
    """Frames one by one, so a parse error names the frame it happened in.

    :func:`~wise_al.datasets.prescan.prescan` has bounded every header first; whatever ASE's
    reader still raises on a malformed value (an integer of 24 digits, a word where a number
    belongs) is this frame being unreadable, never a server error.
    """
    from ase.io import iread  # ase.io loads SciPy: the API starts without it

    k = 0
    reader = iread(str(path), index=":", format="extxyz")
    while True:
        try:
            atoms = next(reader)
        except StopIteration:
            return
        except KeyError as exc:
            raise DatasetRejected(k, "symbols", f"unknown element {exc}") from None
        except MemoryError:
            raise
        except Exception as exc:  # any parse failure of untrusted input
            text = str(exc).strip("'\"") or type(exc).__name__
            raise DatasetRejected(k, "extxyz", f"unreadable: {text}") from None
        if not isinstance(atoms, Atoms):  # pragma: no cover - iread yields Atoms
            raise DatasetRejected(k, "extxyz", "not a structure")
        yield k, atoms
        k += 1


def _check_structure(k: int, atoms: Atoms) -> None:
    if len(atoms) == 0:
        raise DatasetRejected(k, "symbols", "a frame without atoms")
    if len(atoms) > MAX_ATOMS_PER_FRAME:
        raise DatasetRejected(k, "symbols", f"{len(atoms)} atoms, over {MAX_ATOMS_PER_FRAME}")
    if (atoms.numbers <= 0).any():
        raise DatasetRejected(k, "symbols", "unknown element X (a dummy atom)")
    if (atoms.numbers > MAX_ATOMIC_NUMBER).any():
        z = int(atoms.numbers.max())
        raise DatasetRejected(
            k, "Z", f"unknown element Z={z} (elements end at {MAX_ATOMIC_NUMBER})"
        )
    if not np.isfinite(atoms.positions).all():
        atom = int(np.argwhere(~np.isfinite(atoms.positions))[0, 0])
        raise DatasetRejected(k, "positions", f"atom {atom} is not finite (NaN or infinity)")
    if np.abs(atoms.positions).max() > MAX_LENGTH_A:
        atom = int(np.argmax(np.abs(atoms.positions).max(axis=1)))
        raise DatasetRejected(k, "positions", f"atom {atom} is over {MAX_LENGTH_A:g} Å away")
    problem = cell_problem(atoms.cell.array, atoms.pbc)
    if problem:
        raise DatasetRejected(k, "Lattice", problem)
    close = pairs_within(atoms, MIN_DISTANCE_A)
    if len(close):
        i, j, d = int(close.i[0]), int(close.j[0]), float(close.distance_A[0])
        raise DatasetRejected(
            k,
            "positions",
            f"atoms {i} and {j} are {d:.3f} Å apart (overlapping, under {MIN_DISTANCE_A} Å)",
        )


def _check_units(k: int, atoms: Atoms) -> None:
    for key in UNIT_KEYS:
        unit = atoms.info.get(key)
        if unit is not None and str(unit).strip().lower() not in ("ev", "ev/a", "ev/angstrom"):
            raise DatasetRejected(k, key, f"declares {unit!r}: labels must be in eV, eV/Å, eV/Å³")


def _label_arrays(k: int, atoms: Atoms, level_sha256: str) -> tuple[float, np.ndarray, bool]:
    """The frame's energy and forces, checked; and whether it carries a stress."""
    if "REF_energy" not in atoms.info:
        raise DatasetRejected(k, "REF_energy", "missing (labelled frames need an energy in eV)")
    try:
        energy = float(atoms.info["REF_energy"])
    except (TypeError, ValueError):
        raise DatasetRejected(k, "REF_energy", "not a number") from None
    if not np.isfinite(energy):
        raise DatasetRejected(k, "REF_energy", "not finite (NaN or infinity)")
    if abs(energy) / len(atoms) > MAX_ENERGY_EV_PER_ATOM:
        raise DatasetRejected(k, "REF_energy", f"{energy:g} eV: not an energy in eV")
    if "REF_forces" not in atoms.arrays:
        raise DatasetRejected(k, "REF_forces", "missing (a per-atom column REF_forces:R:3)")
    try:
        forces = np.asarray(atoms.arrays["REF_forces"], dtype=float)
    except (TypeError, ValueError):
        raise DatasetRejected(k, "REF_forces", "not numbers (REF_forces:R:3, eV/Å)") from None
    if forces.shape != (len(atoms), 3):
        shape = "x".join(str(s) for s in forces.shape)
        raise DatasetRejected(k, "REF_forces", f"shape {shape}, expected {len(atoms)}x3")
    if not np.isfinite(forces).all():
        atom = int(np.argwhere(~np.isfinite(forces))[0, 0])
        raise DatasetRejected(k, "REF_forces", f"atom {atom} is not finite (NaN or infinity)")
    largest = float(np.abs(forces).max())
    if largest > MAX_FORCE_EV_PER_A:
        raise DatasetRejected(
            k, "REF_forces", f"{largest:.4g} eV/Å: not in eV/Å (Hartree/Bohr? overlapping atoms?)"
        )
    stress = atoms.info.get("REF_stress")
    if stress is not None:
        try:
            values = np.asarray(stress, dtype=float).ravel()
        except (TypeError, ValueError):
            raise DatasetRejected(k, "REF_stress", "not numbers (6 or 9 in eV/Å³)") from None
        if values.size not in (6, 9):
            raise DatasetRejected(k, "REF_stress", f"{values.size} numbers, expected 6 or 9")
        if not np.isfinite(values).all():
            raise DatasetRejected(k, "REF_stress", "not finite (NaN or infinity)")
        if not atoms.pbc.all():
            raise DatasetRejected(k, "REF_stress", "a stress needs a fully periodic frame")
        if np.abs(values).max() > MAX_STRESS_EV_PER_A3:
            raise DatasetRejected(
                k, "REF_stress", f"{np.abs(values).max():.4g}: not in eV/Å³ (GPa? bar?)"
            )
    recorded = atoms.info.get("REF_level_sha256")
    if recorded is not None and str(recorded) != level_sha256:
        raise DatasetRejected(
            k,
            "REF_level_sha256",
            f"the frame says level {str(recorded)[:12]}, the upload declares {level_sha256[:12]}",
        )
    return energy, forces, stress is not None


def check_dataset(path: Path, kind: Kind, level_sha256: str | None = None) -> DatasetSummary:
    """Check every frame of an extxyz upload; the first problem found is raised.

    Parameters
    ----------
    path
        The uploaded file.
    kind
        ``labelled`` (needs ``level_sha256``: the declared level) or ``structures``.

    Raises
    ------
    DatasetRejected
        Naming the frame and the field. The file's headers are bounded first
        (:func:`~wise_al.datasets.prescan.prescan`), so no header makes this run long.
    """
    if kind == "labelled" and level_sha256 is None:
        raise DatasetRejected(None, "level_of_theory", "labelled data needs a declared level")
    scanned = prescan(path)
    summary = DatasetSummary(kind)
    elements: set[str] = set()
    sizes: list[int] = []
    per_atom: list[float] = []
    force_max = 0.0
    for k, atoms in _frames(path):
        _check_structure(k, atoms)
        _check_units(k, atoms)
        if kind == "labelled":
            assert level_sha256 is not None
            energy, forces, has_stress = _label_arrays(k, atoms, level_sha256)
            per_atom.append(energy / len(atoms))
            force_max = max(force_max, float(np.linalg.norm(forces, axis=1).max()))
            summary.stress_frames += has_stress
        sizes.append(len(atoms))
        elements.update(atoms.get_chemical_symbols())
        summary.periodic_frames += bool(atoms.pbc.all())
    if len(sizes) != scanned:  # never store a file whose frames a reader would not all see
        raise DatasetRejected(
            len(sizes), "extxyz", f"ASE read {len(sizes)} of the {scanned} frames in the file"
        )
    summary.frames, summary.atoms_min, summary.atoms_max = len(sizes), min(sizes), max(sizes)
    summary.elements = sorted(elements)
    if per_atom:
        summary.energy_per_atom_eV = [min(per_atom), max(per_atom)]
        summary.max_force_eV_per_A = force_max
    return summary
