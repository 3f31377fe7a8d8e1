"""ASE's own CP2K calculator as the independent reference for our labels (tests only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.cp2k import CP2K

from wise_al.cp2k.input import render_input


def ase_single_point(
    atoms: Atoms, tree: dict[str, Any], directory: Path
) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (eV/Å) from ``cp2k_shell`` driven by ASE.

    ASE gets the very same DFT section and kinds as our input; it writes the cell,
    coordinates and charge itself, and converts units through CP2K's ``UNITS_EV_A``.
    """
    dft = dict(tree["force_eval"]["dft"])
    charge = dft.pop("charge")
    dft.pop("multiplicity")
    force_eval: dict[str, Any] = {"dft": dft}
    if "kind" in tree["force_eval"]["subsys"]:
        force_eval["subsys"] = {"kind": tree["force_eval"]["subsys"]["kind"]}
    calc = CP2K(
        command="cp2k_shell",
        inp=render_input({"force_eval": force_eval}),
        basis_set=None,
        pseudo_potential=None,
        xc=None,
        potential_file=None,
        basis_set_file=None,
        max_scf=None,
        cutoff=None,
        poisson_solver=None,
        charge=charge,
        multiplicity=1,
        stress_tensor=False,
        print_level="LOW",
        directory=str(directory),
    )
    atoms = atoms.copy()
    atoms.calc = calc
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    calc.__del__()  # close cp2k_shell now rather than at interpreter exit
    return energy, forces
