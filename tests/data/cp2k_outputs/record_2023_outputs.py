"""Record this machine's CP2K (Debian 2023.1) outputs: a converged xTB single point with
stress, and one whose SCF does not converge (CP2K 2023.1 warns and exits 0).

Run once from the repository root; the replay tests parse and classify the files.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.input import build_input, render_input
from wise_al.cp2k.run import LaunchProfile, run_cp2k
from wise_al.systems.cells import pack_cell

HERE = Path(__file__).resolve().parent


def main() -> None:
    cell = pack_cell({"H2O": 4}, density_g_per_cm3=1.0, tolerance_A=1.6, seed=0)
    for name, spec in (
        ("2023.1_xtb_energy_force_stress.out", LabellingSpec()),
        ("2023.1_xtb_scf_not_converged.out", LabellingSpec(max_scf=2)),
    ):
        work = Path(tempfile.mkdtemp())
        outcome = run_cp2k(render_input(build_input(spec, cell)), work, LaunchProfile())
        print(name, "exit", outcome.returncode)
        shutil.copyfile(outcome.output, HERE / name)


if __name__ == "__main__":
    main()
