"""MD cost per step at single-model cost, side by side in one run, on a 21 m LiTFSI cell.

    .venv/bin/python benchmarks/md_cost.py [--pairs 16] [--members 4] [--steps 60] [--device cpu]

Three production runs (Nosé–Hoover chain NVT, same start, same seed, one frame saved
every 10 steps), each through ``wise_al.md.production.run_production``:
  1. a single model (the cost floor);
  2. the committee, member 0 driving, all members judging each saved frame;
  3. the committee evaluated at every step (``committee_mean``: what member-driven MD cost
     before members judged only saved frames).
Goal: 2 costs at most 1.35x 1, and 2's trajectory is 1's, position for position.
The tiny models (16 channels, L=0) are trained for one epoch: timing does not depend on
their accuracy. Real numbers for real models belong to a GPU run (--device cuda).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from ase.io import read

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from tests.support.mace_models import timing_members  # noqa: E402
from wise_al.mace.calculator import CommitteeCalculator  # noqa: E402
from wise_al.mace.committee import Committee  # noqa: E402
from wise_al.md.parameters import ProductionParameters  # noqa: E402
from wise_al.md.production import run_production  # noqa: E402
from wise_al.systems.cells import build_wise_cell  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=16, help="LiTFSI pairs (16: 382 atoms)")
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    cell = build_wise_cell(21.0, args.pairs, seed=0)
    parameters = ProductionParameters(
        steps=args.steps, save_interval_steps=10, checkpoint_interval_steps=args.steps
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = timing_members(work, args.members)
        runs = {
            "single model": CommitteeCalculator(
                Committee(paths[:1], device=args.device, min_members=1)
            ),
            f"member 0 driving, {args.members} judging saved frames": CommitteeCalculator(
                Committee(paths, device=args.device), driver="member"
            ),
            f"all {args.members} members every step": CommitteeCalculator(
                Committee(paths, device=args.device), driver="committee_mean"
            ),
        }
        ms_per_step, trajectories = {}, {}
        for k, (name, calculator) in enumerate(runs.items()):
            run_production(
                cell,
                calculator,
                parameters.model_copy(update={"steps": 2}),
                work / f"warm{k}",
                driven_by={},
            )
            start = time.perf_counter()
            result = run_production(cell, calculator, parameters, work / f"run{k}", driven_by={})
            ms_per_step[name] = (time.perf_counter() - start) / args.steps * 1e3
            trajectories[name] = np.stack([f.positions for f in read(result.trajectory, ":")])

    names = list(runs)
    floor = ms_per_step[names[0]]
    same = np.abs(trajectories[names[1]] - trajectories[names[0]]).max()
    print(f"\n{len(cell)} atoms, {args.members} members, {args.device}, {args.steps} NVT steps\n")
    print("| run | ms per step | ratio to single |")
    print("|---|---:|---:|")
    for name in names:
        print(f"| {name} | {ms_per_step[name]:.1f} | {ms_per_step[name] / floor:.2f} |")
    print(f"\nmax |position difference|, member-driven vs single model: {same:.1e} Å")


if __name__ == "__main__":
    main()
