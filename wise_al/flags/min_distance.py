"""Species-pair minimum distances between molecules (e.g. Li+–Li+ closer than 2.6 Å)."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms

from wise_al.campaign_spec.base import parse_element_pair
from wise_al.flags.base import Flag, FlagRule, FrameView, pair_label, register
from wise_al.systems.topology import find_bonds, molecule_ids


class MinDistanceRule:
    """Flag atoms of two given elements, in different molecules, closer than a limit.

    Intramolecular distances are the bond-integrity rule's business; molecules come from
    the reference frame (its ``mol_id`` array, or its covalent bond graph).
    """

    kind = "min_distance"

    def __init__(self, limits_A: dict[str, float], mol_id: np.ndarray) -> None:
        self.limits_A = {pair_label(*parse_element_pair(k)): v for k, v in limits_A.items()}
        self.mol_id = mol_id

    def cutoff_A(self) -> float:
        return max(self.limits_A.values(), default=0.0)

    def check(self, frame: FrameView) -> list[Flag]:
        pairs, symbols = frame.pairs, frame.symbols
        flags = []
        different = self.mol_id[pairs.i] != self.mol_id[pairs.j]
        for k in np.flatnonzero(different):
            i, j, d = int(pairs.i[k]), int(pairs.j[k]), float(pairs.distance_A[k])
            label = pair_label(symbols[i], symbols[j])
            limit = self.limits_A.get(label)
            if limit is not None and d < limit:
                flags.append(
                    Flag(
                        self.kind,
                        (i, j),
                        d,
                        limit,
                        "Å",
                        f"{symbols[i]} {i} and {symbols[j]} {j} are {d:.2f} Å apart, closer "
                        f"than the {limit:.2f} Å minimum for {label}",
                    )
                )
        return flags


@register("min_distance")
def build(spec: Any, reference: Atoms, _target_temperature_K: float | None) -> list[FlagRule]:
    if not spec.min_distance_A:
        return []
    bonds = find_bonds(reference, spec.bond_integrity.bonds)
    return [MinDistanceRule(spec.min_distance_A, molecule_ids(reference, bonds))]
