"""Data efficiency in miniature: from scratch vs naive vs multihead fine-tuning, side by side.

    .venv/bin/python benchmarks/fine_tuning.py [--foundation PATH] [--sizes 8 16 32] [--epochs 40]

Models are trained on the first N GFN1-xTB labels of Li+ water clusters
(tests/data/li_water_xtb.extxyz) and scored on its last 8 frames, a fixed test set, at
equal N for each strategy. Fine-tuning starts from the demo foundation
(``wise-al models build-demo-foundation``, xTB labels of water and LiTFSI cells; its data is
the multihead replay set). From scratch uses the demo foundation's architecture. E0s are
CP2K's isolated xTB atoms. Everything at the same level of theory: this measures what the
foundation's prior buys, not a change of level.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ase.io import read

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cli.demo_foundation import DEMO_TRAINING
from wise_al.cp2k.e0s import reference_energies
from wise_al.cp2k.label import make_labeller
from wise_al.mace.evaluate import evaluate
from wise_al.mace.fit import fit_committee
from wise_al.settings import Cp2kSettings

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "li_water_xtb.extxyz"
STRATEGIES = ("from_scratch", "fine_tune_naive", "fine_tune_multihead")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    settings = Cp2kSettings()
    default = settings.home / "models" / "demo-foundation.model"
    parser.add_argument("--foundation", type=Path, default=default)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    if not args.foundation.is_file():
        raise SystemExit(f"{args.foundation}: run `wise-al models build-demo-foundation` first")
    replay = args.foundation.with_name(f"{args.foundation.stem}-data.extxyz")
    frames = read(DATA, index=":")
    assert isinstance(frames, list)
    pool, test = frames[:-8], frames[-8:]
    e0s = reference_energies(make_labeller(settings, LabellingSpec()), ["H", "Li", "O"])
    training = DEMO_TRAINING.model_copy(
        update={"max_num_epochs": args.epochs, "valid_fraction": 0.15, "test_fraction": 0.0}
    )
    foundation_errors = evaluate(args.foundation, test)[0]
    print(f"foundation alone on the test set: {foundation_errors.forces_rmse_meV_per_A:.0f} "
          f"meV/Å, {foundation_errors.energy_rmse_meV_per_atom:.1f} meV/atom")  # fmt: skip
    print(f"{'labels':>6} {'strategy':<20} {'F RMSE meV/Å':>13} {'E RMSE meV/atom':>16} {'s':>5}")
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes:
            for strategy in STRATEGIES:
                start = time.perf_counter()
                fitted = fit_committee(
                    pool[:size], strategy, 1, training, e0s, Path(scratch) / f"{strategy}-{size}",  # type: ignore[arg-type]
                    foundation=None if strategy == "from_scratch" else args.foundation,
                    replay_file=replay,
                )  # fmt: skip
                errors = evaluate(fitted.model_files[0], test)[0]
                print(f"{size:>6} {strategy:<20} {errors.forces_rmse_meV_per_A:>13.0f} "
                      f"{errors.energy_rmse_meV_per_atom:>16.1f} "
                      f"{time.perf_counter() - start:>5.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
