"""Committee MD cost, side by side in one run, on a 21 m LiTFSI/water cell.

    .venv/bin/python benchmarks/committee_md.py [--atoms-pairs 16] [--members 4] [--steps 20]

Compares, per MD step (Langevin, same cell, same models):
  1. one MACE model through mace's MACECalculator (the cost floor);
  2. mace's own committee calculator (MACECalculator with N model paths);
  3. wise-al's CommitteeCalculator (shared graph, no stress under NVT, deviation included);
and, per frame, wise-al's physics flags against one committee MD step (goal < 5 %), and
batching W walkers into one committee pass against W separate passes.
The tiny models (16 channels, L=0) are trained for one epoch: timing does not depend on
their accuracy. Real numbers for real models belong to a GPU run (--device cuda).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import thermalize_momenta

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from tests.support.mace_models import timing_members  # noqa: E402
from wise_al.campaign_spec.exploration import FlagsSpec  # noqa: E402
from wise_al.flags import FlagChecker  # noqa: E402
from wise_al.mace.calculator import CommitteeCalculator  # noqa: E402
from wise_al.mace.committee import Committee  # noqa: E402
from wise_al.systems.cells import build_wise_cell  # noqa: E402


def ms_per_step(atoms: Atoms, calc: object, steps: int) -> float:
    atoms = atoms.copy()
    atoms.calc = calc
    thermalize_momenta(atoms, 298.15, rng=np.random.default_rng(0))
    dyn = Langevin(
        atoms,
        0.5 * units.fs,
        temperature_K=298.15,
        friction=0.01 / units.fs,
        rng=np.random.default_rng(0),
        fixcm=False,
    )
    dyn.run(2)  # warm-up: first calls allocate
    start = time.perf_counter()
    dyn.run(steps)
    return (time.perf_counter() - start) / steps * 1e3


def ms_per_call(function: Callable[[], object], repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pairs", type=int, default=16, help="LiTFSI pairs at 21 m (16: 382 atoms)"
    )
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--walkers", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from mace.calculators import MACECalculator

    cell = build_wise_cell(21.0, args.pairs, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = timing_members(Path(tmp), args.members)
        single = MACECalculator(
            model_paths=str(paths[0]), device=args.device, default_dtype="float64"
        )
        mace_committee = MACECalculator(
            model_paths=[str(p) for p in paths], device=args.device, default_dtype="float64"
        )
        committee = Committee(paths, device=args.device)
        ours = CommitteeCalculator(committee)
        t_single = ms_per_step(cell, single, args.steps)
        t_mace = ms_per_step(cell, mace_committee, args.steps)
        t_ours = ms_per_step(cell, ours, args.steps)

        checker = FlagChecker(FlagsSpec(), cell, 298.15)
        t_flags = ms_per_call(lambda: checker.check(cell), 20)

        walkers = [cell.copy() for _ in range(args.walkers)]
        for k, w in enumerate(walkers):
            w.rattle(0.01, seed=k)
        t_separate = ms_per_call(lambda: [committee.predict([w]) for w in walkers], 3)
        t_batched = ms_per_call(lambda: committee.predict(walkers), 3)

    n = len(cell)
    print(f"\n{n} atoms, committee of {args.members}, {args.device}, {args.steps} Langevin steps\n")
    print("| measurement | ms | ratio |")
    print("|---|---:|---:|")
    print(f"| single model, MACECalculator, per step | {t_single:.1f} | 1.00 |")
    print(
        f"| mace committee calculator ({args.members} models), per step | {t_mace:.1f} "
        f"| {t_mace / t_single:.2f} × single |"
    )
    print(
        f"| wise-al CommitteeCalculator ({args.members} models), per step | {t_ours:.1f} "
        f"| {t_ours / t_single:.2f} × single; {t_mace / t_ours:.2f}× faster than mace's |"
    )
    print(
        f"| physics flags, per frame | {t_flags:.2f} | {100 * t_flags / t_ours:.1f} % "
        "of one committee step |"
    )
    print(f"| {args.walkers} walkers, separate committee passes | {t_separate:.1f} | 1.00 |")
    print(
        f"| {args.walkers} walkers, one batched committee pass | {t_batched:.1f} "
        f"| {t_separate / t_batched:.2f}× faster |"
    )


if __name__ == "__main__":
    main()
