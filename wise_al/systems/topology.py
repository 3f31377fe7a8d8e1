"""Covalent bonds and molecules of a frame, from covalent radii (Li+ is never bonded)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from wise_al.systems.neighbours import pairs_within

#: A pair is bonded when closer than this multiple of its covalent radii sum: O-H 1.12 Å,
#: S-O 1.97 Å, S-N 2.02 Å, S-C 2.08 Å, C-F 1.53 Å. That keeps every bond of water and
#: TFSI and no hydrogen bond (O···H ≈ 1.8 Å); 1.25 would call a water O 2.1 Å from an S
#: bonded to it.
BOND_FACTOR = 1.15


def bond_cutoffs_A(bond_types: Iterable[str], factor: float = BOND_FACTOR) -> dict[str, float]:
    """``"O-H"`` -> bonding distance limit in Å, keyed by the sorted pair label."""
    cutoffs = {}
    for bond in bond_types:
        a, b = bond.split("-")
        label = "-".join(sorted((a, b)))
        cutoffs[label] = factor * (
            covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]]
        )
    return cutoffs


def find_bonds(atoms: Atoms, bond_types: Iterable[str], factor: float = BOND_FACTOR) -> np.ndarray:
    """Bonded pairs (shape (n, 2), i < j) of the given element-pair types."""
    cutoffs = bond_cutoffs_A(bond_types, factor)
    if not cutoffs:
        return np.empty((0, 2), dtype=int)
    pairs = pairs_within(atoms, max(cutoffs.values()))
    symbols = np.array(atoms.get_chemical_symbols())
    labels = ["-".join(sorted(p)) for p in zip(symbols[pairs.i], symbols[pairs.j], strict=True)]
    limit = np.array([cutoffs.get(label, 0.0) for label in labels])
    keep = pairs.distance_A < limit
    return np.stack([pairs.i[keep], pairs.j[keep]], axis=1).astype(int)


def molecule_ids(atoms: Atoms, bonds: np.ndarray) -> np.ndarray:
    """Molecule index of each atom: ``arrays["mol_id"]`` if set, else bond-graph components."""
    if "mol_id" in atoms.arrays:
        return np.asarray(atoms.arrays["mol_id"], dtype=int)
    n = len(atoms)
    graph = coo_matrix((np.ones(len(bonds)), (bonds[:, 0], bonds[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=int)
