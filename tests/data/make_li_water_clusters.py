"""Record the training data of the test committees: Li+ + 3-4 H2O clusters, GFN1-xTB in CP2K.

Run once (about 5 minutes on 2 cores) to regenerate ``li_water_xtb.extxyz``; the tests train
their tiny MACE committees on the recorded labels, so CI does not pay for 40 CP2K runs.
Labels come from ASE's CP2K calculator (the peer way), with REF_energy / REF_forces keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import molecule
from ase.calculators.cp2k import CP2K
from ase.io import write

XTB_INPUT = """
&FORCE_EVAL
  &DFT
    &QS
      METHOD XTB
    &END QS
    &POISSON
      PERIODIC NONE
      PSOLVER MT
    &END POISSON
  &END DFT
&END FORCE_EVAL
"""


def cluster(rng: np.random.Generator, n_water: int) -> Atoms:
    """Li+ with waters on the axes, O about 2 Å away, randomly oriented, in a 14 Å box."""
    atoms = Atoms("Li", positions=[[0, 0, 0]])
    for direction in np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]])[:n_water]:
        water = molecule("H2O")
        water.rotate(rng.uniform(0, 360), rng.normal(size=3))
        water.positions += direction * rng.uniform(1.9, 2.3) - water.positions[0]
        atoms += water
    atoms.cell = [14, 14, 14]
    atoms.center()
    atoms.pbc = False
    return atoms


def main() -> None:
    rng = np.random.default_rng(0)
    calc = CP2K(
        command="cp2k_shell",
        inp=XTB_INPUT,
        basis_set=None,
        pseudo_potential=None,
        xc=None,
        potential_file=None,
        basis_set_file=None,
        charge=1,
        max_scf=100,
        poisson_solver=None,
        print_level="LOW",
        stress_tensor=False,
    )
    frames = []
    for k in range(40):
        atoms = cluster(rng, 3 if k % 2 else 4)
        atoms.rattle(rng.uniform(0.02, 0.12), seed=k)
        atoms.calc = calc
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        frame = atoms.copy()
        frame.info["REF_energy"] = energy
        frame.arrays["REF_forces"] = forces
        frames.append(frame)
    write(Path(__file__).with_name("li_water_xtb.extxyz"), frames)


if __name__ == "__main__":
    main()
