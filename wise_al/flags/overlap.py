"""Any two atoms far closer than their covalent radii allow: the model let them collapse."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.data import covalent_radii

from wise_al.flags.base import Flag, FlagRule, FrameView, register


class OverlapRule:
    """Flag any pair closer than ``fraction`` × (r_cov,i + r_cov,j)."""

    kind = "overlap"

    def __init__(self, fraction: float, numbers: np.ndarray) -> None:
        self.fraction = fraction
        self.radii_A = covalent_radii[numbers]

    def cutoff_A(self) -> float:
        return float(2 * self.radii_A.max() * self.fraction)

    def check(self, frame: FrameView) -> list[Flag]:
        pairs, symbols = frame.pairs, frame.symbols
        limits = self.fraction * (self.radii_A[pairs.i] + self.radii_A[pairs.j])
        flags = []
        for k in np.flatnonzero(pairs.distance_A < limits):
            i, j, d = int(pairs.i[k]), int(pairs.j[k]), float(pairs.distance_A[k])
            flags.append(
                Flag(
                    self.kind,
                    (i, j),
                    d,
                    float(limits[k]),
                    "Å",
                    f"{symbols[i]} {i} and {symbols[j]} {j} overlap: {d:.2f} Å apart, under "
                    f"{self.fraction:g}× their covalent radii ({limits[k]:.2f} Å)",
                )
            )
        return flags


@register("overlap")
def build(spec: Any, reference: Atoms, _target_temperature_K: float | None) -> list[FlagRule]:
    return [OverlapRule(spec.overlap_fraction, reference.numbers)]
