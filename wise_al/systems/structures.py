"""Structures as JSON (database rows, API bodies) and back, positions and cell in Å."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np
from ase import Atoms


def structure_to_dict(atoms: Atoms) -> dict[str, Any]:
    """Symbols, positions, cell and periodicity: what a label or a viewer needs."""
    return {
        "symbols": atoms.get_chemical_symbols(),
        "positions_A": np.round(atoms.positions, 8).tolist(),
        "cell_A": np.round(atoms.cell.array, 8).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
    }


def structure_from_dict(data: dict[str, Any]) -> Atoms:
    """The inverse of :func:`structure_to_dict`."""
    return Atoms(
        symbols=data["symbols"],
        positions=data["positions_A"],
        cell=data["cell_A"],
        pbc=data["pbc"],
    )


def extxyz_text(frames: Atoms | Iterable[Atoms]) -> str:
    """``frames`` as extended XYZ text (opens in ASE, OVITO, VMD)."""
    from ase.io import write  # 0.6 s to import (SciPy): the API imports this module

    buffer = io.StringIO()
    write(buffer, frames if isinstance(frames, Atoms) else list(frames), format="extxyz")
    return buffer.getvalue()
