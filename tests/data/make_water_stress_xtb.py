"""Record periodic water cells with stress labels: GFN1-xTB in CP2K, through wise-al's labeller.

Run once (about a minute on 2 cores) to regenerate ``water_stress_xtb.extxyz``: 4 H2O packed
at 1.0 g/cm3 (four packings), each scaled with its atoms by -4 % .. +4 % (eight steps), so
the labels span compression and expansion: pressures of both signs. Stresses are
``(1/V) dE/dstrain`` (compression negative), the convention the finite-difference test
checks. The stress-training test learns from these labels.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from ase.io import write

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.run import LaunchProfile
from wise_al.systems.cells import pack_cell
from wise_al.systems.labelled import labelled_frame

OUT = Path(__file__).resolve().parent / "water_stress_xtb.extxyz"
PACKINGS = 4
LINEAR_SCALES = np.linspace(0.96, 1.04, 8)


def main() -> None:
    labeller = Labeller(
        LabellingSpec(eps_scf=1e-8, max_scf=200),
        detect(),
        LaunchProfile(omp_threads=2),
        Path(tempfile.mkdtemp()),
    )
    frames = []
    for packing in range(PACKINGS):
        packed = pack_cell({"H2O": 4}, density_g_per_cm3=1.0, tolerance_A=1.6, seed=packing)
        for k, scale in enumerate(LINEAR_SCALES):
            cell = packed.copy()
            cell.set_cell(cell.cell * scale, scale_atoms=True)
            cell.rattle(0.02, seed=100 * packing + k)
            frames.append(cell)
    labelled = []
    for cell in frames:
        result = labeller.label(cell)
        if not result.ok or result.energy_eV is None:
            continue
        labelled.append(
            labelled_frame(cell, result.energy_eV, result.forces_eV_per_A, result.stress_eV_per_A3)
        )
    write(OUT, labelled, format="extxyz")
    pressures = [-np.trace(np.reshape(a.info["REF_stress"], (3, 3))) / 3 * 160.2 for a in labelled]
    print(f"{len(labelled)} frames, pressure {min(pressures):.2f} .. {max(pressures):.2f} GPa")


if __name__ == "__main__":
    main()
