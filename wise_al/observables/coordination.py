"""Li–O coordination numbers split by oxygen class: water and TFSI oxygens.

The benchmark's rules: a water oxygen has an H within 1.25 Å, a TFSI oxygen an S within
1.75 Å; a Li⁺ coordinates the oxygens within 2.83 Å, the first minimum of g_LiO(r).
Counting neighbours within the cutoff is exactly the integral of 4 pi rho r² g(r) to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from wise_al.systems.neighbours import pairs_within

WATER_O_H_A = 1.25
TFSI_O_S_A = 1.75
LI_O_CUTOFF_A = 2.83


@dataclass(frozen=True)
class OxygenClasses:
    """Indices of the oxygens of water and of TFSI in one frame."""

    water: np.ndarray
    tfsi: np.ndarray


def oxygen_classes(atoms: Atoms) -> OxygenClasses:
    """Classify every oxygen by its nearest partners (an O near both H and S is TFSI)."""
    symbols = np.asarray(atoms.get_chemical_symbols())
    pairs = pairs_within(atoms, max(WATER_O_H_A, TFSI_O_S_A))
    is_o = symbols == "O"
    water, tfsi = np.zeros(len(atoms), bool), np.zeros(len(atoms), bool)
    for first, second in ((pairs.i, pairs.j), (pairs.j, pairs.i)):
        o = is_o[first]
        near_h = o & (symbols[second] == "H") & (pairs.distance_A < WATER_O_H_A)
        near_s = o & (symbols[second] == "S") & (pairs.distance_A < TFSI_O_S_A)
        water[first[near_h]] = True
        tfsi[first[near_s]] = True
    return OxygenClasses(np.flatnonzero(water & ~tfsi), np.flatnonzero(tfsi))


@dataclass(frozen=True)
class LiOCoordination:
    """Mean number of oxygens around a Li⁺ within the cutoff, by oxygen class.

    ``total`` counts every oxygen, classified or not, so ``water + tfsi <= total``.
    """

    water: float
    tfsi: float
    total: float


def li_o_coordination(frames: Sequence[Atoms], cutoff_A: float = LI_O_CUTOFF_A) -> LiOCoordination:
    """Li–O coordination numbers averaged over every Li⁺ of every frame.

    Raises
    ------
    ValueError
        If no frame holds a Li atom.
    """
    sums = np.zeros(3)
    lithium = 0
    for atoms in frames:
        symbols = np.asarray(atoms.get_chemical_symbols())
        classes = oxygen_classes(atoms)
        water = np.zeros(len(atoms), bool)
        water[classes.water] = True
        tfsi = np.zeros(len(atoms), bool)
        tfsi[classes.tfsi] = True
        pairs = pairs_within(atoms, cutoff_A)
        for li, o in ((pairs.i, pairs.j), (pairs.j, pairs.i)):
            bond = (symbols[li] == "Li") & (symbols[o] == "O")
            sums += (water[o[bond]].sum(), tfsi[o[bond]].sum(), bond.sum())
        lithium += int(np.count_nonzero(symbols == "Li"))
    if lithium == 0:
        raise ValueError("no Li atom in the frames")
    water_cn, tfsi_cn, total_cn = sums / lithium
    return LiOCoordination(float(water_cn), float(tfsi_cn), float(total_cn))
