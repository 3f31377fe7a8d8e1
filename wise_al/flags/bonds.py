"""Bond integrity of water and TFSI: a bond stretched past a factor, or a new bond formed."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from wise_al.flags.base import Flag, FlagRule, FrameView, pair_label, register
from wise_al.systems.topology import bond_cutoffs_A, find_bonds


def bond_lengths_A(atoms: Atoms, bonds: np.ndarray) -> np.ndarray:
    """Minimum-image lengths of the given bonds (shape (n, 2))."""
    vectors = atoms.positions[bonds[:, 1]] - atoms.positions[bonds[:, 0]]
    if atoms.pbc.any():
        vectors, lengths = find_mic(vectors, atoms.cell, atoms.pbc)
        return np.asarray(lengths)
    return np.linalg.norm(vectors, axis=1)


class BondIntegrityRule:
    """Compare each frame with the molecule graph of the reference (starting) frame.

    A reference bond longer than ``stretch_factor`` times its starting length is broken; a
    pair of a watched bond type that was not bonded at the start and now is within bonding
    distance is a new bond (a proton hop, a fragment attaching).
    """

    kind = "bond_integrity"

    def __init__(
        self, reference: Atoms, bond_types: list[str], stretch_factor: float, detect_new_bonds: bool
    ) -> None:
        self.bonds = find_bonds(reference, bond_types)
        self.reference_A = bond_lengths_A(reference, self.bonds)
        self.stretch_factor = stretch_factor
        self.new_bond_cutoffs_A = bond_cutoffs_A(bond_types) if detect_new_bonds else {}
        self.known = {(int(i), int(j)) for i, j in self.bonds}

    def cutoff_A(self) -> float:
        return max(self.new_bond_cutoffs_A.values(), default=0.0)

    def check(self, frame: FrameView) -> list[Flag]:
        return self._broken(frame) + self._formed(frame)

    def _broken(self, frame: FrameView) -> list[Flag]:
        if len(self.bonds) == 0:
            return []
        lengths = bond_lengths_A(frame.atoms, self.bonds)
        limits = self.reference_A * self.stretch_factor
        flags = []
        for k in np.flatnonzero(lengths > limits):
            i, j = (int(x) for x in self.bonds[k])
            a, b = frame.symbols[i], frame.symbols[j]
            flags.append(
                Flag(
                    "bond_broken",
                    (i, j),
                    float(lengths[k]),
                    float(limits[k]),
                    "Å",
                    f"the {a}–{b} bond between {a} {i} and {b} {j} is stretched to "
                    f"{lengths[k]:.2f} Å, past {self.stretch_factor:g}× its starting "
                    f"{self.reference_A[k]:.2f} Å: the molecule is breaking",
                )
            )
        return flags

    def _formed(self, frame: FrameView) -> list[Flag]:
        if not self.new_bond_cutoffs_A:
            return []
        pairs, symbols = frame.pairs, frame.symbols
        flags = []
        for i, j, d in zip(pairs.i, pairs.j, pairs.distance_A, strict=True):
            label = pair_label(symbols[i], symbols[j])
            limit = self.new_bond_cutoffs_A.get(label)
            if limit is None or d >= limit or (int(i), int(j)) in self.known:
                continue
            flags.append(
                Flag(
                    "bond_formed",
                    (int(i), int(j)),
                    float(d),
                    float(limit),
                    "Å",
                    f"{symbols[i]} {i} and {symbols[j]} {j} are {d:.2f} Å apart, a {label} bond "
                    "that did not exist in the starting frame",
                )
            )
        return flags


@register("bond_integrity")
def build(spec: Any, reference: Atoms, _target_temperature_K: float | None) -> list[FlagRule]:
    rules = spec.bond_integrity
    if not rules.enabled or not rules.bonds:
        return []
    return [BondIntegrityRule(reference, rules.bonds, rules.stretch_factor, rules.detect_new_bonds)]
