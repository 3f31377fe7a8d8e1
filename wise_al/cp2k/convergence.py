"""How labels change with the plane-wave cutoff: choose a cutoff from numbers, not habit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.units import GPA_IN_EV_PER_A3
from wise_al.errors import WiseAlError


@dataclass(frozen=True)
class CutoffStep:
    """One cutoff of a scan, and how much its label moved from the previous cutoff's."""

    cutoff_Ry: float
    energy_eV_per_atom: float
    delta_energy_meV_per_atom: float | None
    max_delta_force_meV_per_A: float | None
    max_delta_stress_GPa: float | None
    wall_time_s: float


def cutoff_scan(
    spec: LabellingSpec,
    atoms: Atoms,
    cutoffs_Ry: Sequence[float],
    make_labeller: Callable[[LabellingSpec], Labeller],
    on_step: Callable[[float], None] | None = None,
) -> list[CutoffStep]:
    """Label ``atoms`` at each cutoff (REL_CUTOFF kept) and report the change per step.

    Raises
    ------
    WiseAlError
        For GFN1-xTB (no grid), fewer than two cutoffs, or a label that failed.
    """
    if spec.method != "dft":
        raise WiseAlError("labelling.method: a cutoff scan needs DFT (GFN1-xTB has no grid)")
    if len(cutoffs_Ry) < 2:
        raise WiseAlError("--cutoffs: give at least two cutoffs to compare")
    steps: list[CutoffStep] = []
    previous: tuple[float, np.ndarray, np.ndarray | None] | None = None
    for cutoff in sorted(cutoffs_Ry):
        if on_step is not None:
            on_step(cutoff)
        result = make_labeller(spec.model_copy(update={"cutoff_Ry": cutoff})).label(atoms)
        if not result.ok or result.energy_eV is None:
            raise WiseAlError(f"the label at {cutoff:g} Ry failed ({result.failure})")
        energy = result.energy_eV / len(atoms)
        forces = np.asarray(result.forces_eV_per_A)
        stress = None if result.stress_eV_per_A3 is None else np.asarray(result.stress_eV_per_A3)
        delta_e = delta_f = delta_s = None
        if previous is not None:
            delta_e = 1000 * (energy - previous[0])
            delta_f = 1000 * float(np.abs(forces - previous[1]).max())
            if stress is not None and previous[2] is not None:
                delta_s = float(np.abs(stress - previous[2]).max()) / GPA_IN_EV_PER_A3
        steps.append(CutoffStep(cutoff, energy, delta_e, delta_f, delta_s, result.wall_time_s))
        previous = (energy, forces, stress)
    return steps
