"""Partial radial distribution functions g_ab(r) under the minimum image."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from wise_al.systems.neighbours import pairs_within

#: Range and bin width of the benchmark protocol.
R_MAX_A = 6.0
DR_A = 0.02

#: Atoms of one side of a pair: an element symbol, or a function of the frame -> indices
#: (an atom class, such as water oxygens).
Selector = str | Callable[[Atoms], np.ndarray]


def select(atoms: Atoms, selector: Selector) -> np.ndarray:
    """Indices of the atoms ``selector`` names in ``atoms``."""
    if isinstance(selector, str):
        return np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == selector)
    return np.asarray(selector(atoms), dtype=int)


def cell_heights_A(atoms: Atoms) -> np.ndarray:
    """Distances between opposite faces of the cell (the minimum image holds to half)."""
    cell = np.asarray(atoms.cell)
    areas = np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    return np.asarray(abs(np.linalg.det(cell)) / areas)


@dataclass(frozen=True)
class RadialDistribution:
    """g_ab(r) on bin centres, averaged over frames."""

    r_A: np.ndarray
    g: np.ndarray
    #: Number density of b atoms (1/Å³), averaged over frames: for coordination numbers.
    density_b_per_A3: float


def partial_rdf(
    frames: Sequence[Atoms],
    a: Selector,
    b: Selector,
    r_max_A: float = R_MAX_A,
    dr_A: float = DR_A,
) -> RadialDistribution:
    """g_ab(r) of periodic frames, normalised so that an ideal gas gives 1.

    Ordered pairs (i in a, j in b, i != j) are counted in shells and divided by what a
    uniform distribution of the b atoms would put there, ``(N_a N_b - N_ab) / V`` per shell
    volume (``N_ab`` atoms in both sets), so g_aa and g_ab share one formula. Cost is
    linear in atoms per frame (a neighbour list to ``r_max_A``).

    Raises
    ------
    ValueError
        If ``r_max_A`` exceeds half the shortest cell height (the minimum image breaks).
    """
    edges = np.arange(0.0, r_max_A + dr_A / 2, dr_A)
    counts = np.zeros(len(edges) - 1)
    expected_pairs_per_A3 = 0.0
    density_b = 0.0
    for atoms in frames:
        if r_max_A > cell_heights_A(atoms).min() / 2:
            half = cell_heights_A(atoms).min() / 2
            raise ValueError(f"r_max {r_max_A} Å exceeds half the cell height ({half:.2f} Å)")
        in_a = np.zeros(len(atoms), dtype=bool)
        in_b = np.zeros(len(atoms), dtype=bool)
        in_a[select(atoms, a)] = True
        in_b[select(atoms, b)] = True
        # the neighbour list of the two sets only (Li and O: a third of a WiSE cell's atoms)
        members = np.flatnonzero(in_a | in_b)
        pairs = pairs_within(atoms[members], r_max_A)
        sub_a, sub_b = in_a[members], in_b[members]
        # each unique pair counts once per direction that goes from a to b
        weight = (sub_a[pairs.i] & sub_b[pairs.j]).astype(float) + (sub_a[pairs.j] & sub_b[pairs.i])
        counts += np.histogram(pairs.distance_A, bins=edges, weights=weight)[0]
        volume = atoms.get_volume()
        both = int(np.count_nonzero(in_a & in_b))
        expected_pairs_per_A3 += (in_a.sum() * in_b.sum() - both) / volume
        density_b += in_b.sum() / volume
    shells = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = counts / (expected_pairs_per_A3 * shells) if expected_pairs_per_A3 else counts * 0.0
    return RadialDistribution((edges[1:] + edges[:-1]) / 2, g, density_b / len(frames))
