"""CP2K's atomic units to the eV/Å of training data: converted here, once.

The constants are CP2K's own (CODATA 2006 in CP2K 2023.1, its ``physcon`` module). CP2K
reads the Å of our inputs with its own Bohr, so converting its Hartree/Bohr back with the
same constants returns numbers consistent with the geometry it computed, and equal to what
CP2K itself reports in eV (``cp2k_shell UNITS_EV_A``, which ASE's calculator uses). ASE's
CODATA 2014 Hartree differs by 8e-8 relative: 5e-5 eV on a 630 eV cluster.

Stress sign: CP2K prints its stress tensor with positive meaning compression (a pressure-like
sign). Training data, ASE and MACE use ``stress = (1/V) dE/dstrain``, where a compressed cell
has a negative trace and ``pressure = -trace/3``; ASE's own CP2K calculator negates CP2K's
tensor for the same reason. The sign is flipped here and nowhere else, and every stored label
records the convention it is in (:data:`STRESS_CONVENTION`).
"""

from __future__ import annotations

import numpy as np

#: Hartree in eV and Bohr in Å, as CP2K 2023.1 defines them (CODATA 2006).
HARTREE_EV: float = 27.21138386
BOHR_A: float = 0.52917720859
GPA_IN_EV_PER_A3: float = 1.0 / 160.21765300  # CODATA 2006 elementary charge


def energy_eV(energy_hartree: float) -> float:
    """Hartree -> eV."""
    return energy_hartree * HARTREE_EV


def forces_eV_per_A(forces_hartree_per_bohr: np.ndarray) -> np.ndarray:
    """Hartree/Bohr -> eV/Å."""
    return np.asarray(forces_hartree_per_bohr) * HARTREE_EV / BOHR_A


#: The stress convention of every label: ``(1/V) dE/dstrain`` (ASE and MACE; compression < 0).
STRESS_CONVENTION = "dE_dstrain"


def stress_eV_per_A3(stress_GPa: np.ndarray) -> np.ndarray:
    """CP2K's printed stress (GPa, compression positive) -> ``(1/V) dE/dstrain`` in eV/Å³."""
    return -np.asarray(stress_GPa) * GPA_IN_EV_PER_A3
