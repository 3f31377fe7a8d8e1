"""Labelled frames: the structure hash a label is keyed by, and a frame carrying its label.

Labels are stored under mace's ``REF_`` keys (``REF_energy``, ``REF_forces``, ``REF_stress``)
with their level of theory, split group and database row, so a dataset file says where
every number came from.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from ase import Atoms

#: ``info`` key of a frame's split group (frames of one group never straddle splits).
SPLIT_GROUP_KEY = "split_group"
#: ``info`` key of the database label a frame carries.
LABEL_ID_KEY = "label_id"


def structure_sha256(atoms: Atoms) -> str:
    """Hash of what a single point depends on: atoms, positions, cell, periodicity."""
    parts = (atoms.numbers.astype(np.int64), atoms.positions, np.asarray(atoms.cell), atoms.pbc)
    return hashlib.sha256(b"".join(np.ascontiguousarray(p).tobytes() for p in parts)).hexdigest()


def labelled_frame(
    atoms: Atoms,
    energy_eV: float,
    forces_eV_per_A: Any,
    stress_eV_per_A3: Any | None = None,
    level_sha256: str | None = None,
    group: str | None = None,
    label_id: int | None = None,
) -> Atoms:
    """A bare copy of ``atoms`` carrying a label under mace's ``REF_`` keys.

    ``group`` is its split group (:func:`split_group`), ``label_id`` the database row.
    """
    out = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    if group is not None:
        out.info[SPLIT_GROUP_KEY] = group
    if label_id is not None:
        out.info[LABEL_ID_KEY] = label_id
    out.info["REF_energy"] = energy_eV
    out.arrays["REF_forces"] = np.array(forces_eV_per_A, dtype=float)
    if stress_eV_per_A3 is not None:
        out.info["REF_stress"] = np.array(stress_eV_per_A3, dtype=float).reshape(9)
    if level_sha256 is not None:
        out.info["REF_level_sha256"] = level_sha256
    return out
