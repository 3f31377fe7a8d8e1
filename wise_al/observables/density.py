"""Mass density of periodic frames (NPT runs), in g/cm³."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.units import _amu

#: One atomic mass unit over one Å³, in g/cm³ (amu in kg x 1000 g/kg / 1e-24 cm³).
AMU_PER_A3_IN_G_PER_CM3 = _amu * 1e3 / 1e-24


def density_g_per_cm3(atoms: Atoms) -> float:
    """Mass density of one periodic frame.

    Raises
    ------
    ValueError
        If the frame has no 3D cell (a density needs a volume).
    """
    if atoms.cell.rank < 3:
        raise ValueError("a density needs a full 3D cell")
    return float(atoms.get_masses().sum() / atoms.get_volume() * AMU_PER_A3_IN_G_PER_CM3)


def densities_g_per_cm3(frames: Sequence[Atoms]) -> np.ndarray:
    """Density of every frame, in order (the series to block-average)."""
    return np.array([density_g_per_cm3(frame) for frame in frames])
