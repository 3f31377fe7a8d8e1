"""Grimme D3 added at MD time (simple-dftd3), on top of the MACE model, as a recorded choice.

Whether D3 is in the labels, added at MD time or absent changes the liquid's structure
(science.md): the choice is written into the run's record, never implied.
"""

from __future__ import annotations

from ase.calculators.calculator import BaseCalculator
from ase.calculators.mixing import SumCalculator

from wise_al.campaign_spec.base import Dispersion


def add_dispersion(
    calculator: BaseCalculator, dispersion: Dispersion, functional: str
) -> BaseCalculator:
    """``calculator`` plus D3 for ``functional`` with the chosen damping (or unchanged)."""
    if dispersion == "none":
        return calculator
    from dftd3.ase import DFTD3

    d3 = DFTD3(method=functional, damping=dispersion)  # our names are simple-dftd3's
    return SumCalculator([calculator, d3])


def describe_dispersion(dispersion: Dispersion, functional: str) -> str:
    """One line for records and tables: ``none`` or e.g. ``D3(BJ) for pbe (simple-dftd3)``."""
    if dispersion == "none":
        return "none"
    damping = "BJ" if dispersion == "d3bj" else "zero"
    return f"D3({damping}) for {functional} (simple-dftd3)"
