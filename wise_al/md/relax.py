"""Relax a freshly packed cell on the committee before MD.

packmol places rigid molecules at a tolerance, not at a minimum: started as packed, MD
turns the excess potential energy into heat within tens of steps and the temperature flag
stops the walker before it explores anything. A short FIRE relaxation removes the strain.
"""

from __future__ import annotations

from ase import Atoms
from ase.optimize import FIRE

from wise_al.mace.calculator import CommitteeCalculator
from wise_al.mace.committee import Committee

#: Stop relaxing once every force is below this (eV/Å): strain gone, structure still thermal.
RELAX_FMAX_EV_PER_A = 0.5
#: At most this many FIRE steps: a cheap start, not a full minimisation.
RELAX_MAX_STEPS = 200


def relax_start(
    atoms: Atoms,
    committee: Committee,
    fmax_eV_per_A: float = RELAX_FMAX_EV_PER_A,
    max_steps: int = RELAX_MAX_STEPS,
) -> tuple[Atoms, int]:
    """A relaxed copy of ``atoms`` (cell fixed) on the committee mean, and the steps taken."""
    relaxed = atoms.copy()
    relaxed.calc = CommitteeCalculator(committee)
    optimizer = FIRE(relaxed, logfile=None)
    optimizer.run(fmax=fmax_eV_per_A, steps=max_steps)
    steps = optimizer.nsteps
    relaxed.calc = None
    return relaxed, steps
