"""Does active learning spend fewer DFT labels? Committee + flags vs random vs uniform.

    .venv/bin/python benchmarks/label_efficiency.py [--budgets 8 16 32] [--seeds 0 1 2]
        [--pool-steps 400] [--reference-steps 100] [--epochs 30] [--out FILE]

Pool-based, on this CPU, at GFN1-xTB in CP2K, everything with the product's own code:

1. **Truth**: CP2K's own MD of a relaxed demo cell (2 LiTFSI + 5 H2O) at 300, 450, 600 K
   (``wise_al.cp2k.md``), a held-out test set of frames the candidates never include; its
   **rare** subset is the hottest run plus the frames with the shortest Li–Li distance.
2. **Pool**: frames saved by walkers driven by the demo foundation (the exploration the
   loop's iteration 0 does) at the same temperatures, every frame labelled once with CP2K
   (cached). Strategies draw labels from this pool, at equal budgets.
3. **Strategies**, for each seed: ``random`` (a seeded draw), ``uniform`` (evenly spaced in
   MD time) and ``committee``: start from the random draw of the first budget, then at each
   larger budget fine-tune a 2-member committee on the labels so far, judge every unlabelled
   pool frame (max force deviation, physics flags, descriptors) and add frames with the
   loop's own selection (``wise_al.selection``: window ∪ flags → dedupe → diversity).
   At every budget one model per strategy and seed is fine-tuned from the foundation with
   the same training and scored on the test set and its rare subset.
4. **Labels to reach the same error**: for each seed, the budget at which each strategy's
   force RMSE falls to random's at the largest budget (log-log interpolation; beyond the
   largest budget it is not reached), and the ratio to random's.
5. **Li–Li contacts**: short NVT MD of each strategy's largest-budget model, the fraction of
   frames with a Li–Li pair under 2.6 Å, against the reference MD's.

It prints a table and writes JSON (``--out``). Whatever comes out is reported, including
where random wins.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wise_al.cli.demo_foundation import DEMO_TRAINING
from wise_al.cp2k.e0s import reference_energies
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import make_labeller
from wise_al.cp2k.md import ReferenceMdParameters, relaxation_path, run_reference_md
from wise_al.cp2k.run import LaunchProfile
from wise_al.exploration.walker import WalkerParameters, run_walker
from wise_al.flags import FlagChecker
from wise_al.mace.committee import Committee
from wise_al.mace.evaluate import evaluate
from wise_al.mace.fit import fit_committee
from wise_al.observables.contacts import li_li_contacts
from wise_al.selection import Candidate, select_frames
from wise_al.settings import Cp2kSettings
from wise_al.spec.exploration import FlagsSpec, SelectionSpec, UncertaintySpec
from wise_al.spec.labelling import LabellingSpec
from wise_al.systems.cells import pack_cell
from wise_al.systems.labelled import labelled_frame
from wise_al.uncertainty import frame_deviation

CELL = {"LiTFSI": 2, "H2O": 5}
TEMPERATURES_K = (300.0, 450.0, 600.0)
STRATEGIES = ("committee", "random", "uniform")
#: The loop's window, wide: at these budgets nearly every frame is a candidate, and the
#: order comes from flags, deviation and diversity.
WINDOW = UncertaintySpec(trust_lo_eV_per_A=1e-3, trust_hi_eV_per_A=50.0)


def _min_li_li_A(atoms: Atoms) -> float:
    lithium = [k for k, s in enumerate(atoms.get_chemical_symbols()) if s == "Li"]
    return float(atoms.get_distances(lithium[0], lithium[1:], mic=True).min())


def reference(steps: int, work: Path) -> tuple[list[Atoms], list[Atoms], float]:
    """CP2K's MD at every temperature: test frames, the rare subset, contact frequency."""
    frames: list[Atoms] = []
    for k, temperature in enumerate(TEMPERATURES_K):
        cell = pack_cell(CELL, density_g_per_cm3=1.7126, seed=100 + k)
        md = ReferenceMdParameters(
            temperature, steps=steps, save_every=10, equilibration_steps=20,
            thermostat_fs=20.0, seed=k,
        )  # fmt: skip
        # hot, freshly packed cells need more SCF cycles per MD step than single points;
        # max_scf is not part of the level of theory (eps_scf is)
        spec = LabellingSpec(max_scf=300)
        cell = relaxation_path(spec, cell, 60, detect(), LaunchProfile(), work / f"relax-{k}")[-1]
        run = run_reference_md(spec, cell, md, detect(), LaunchProfile(), work / str(k))
        frames += run.frames
        mean = f"mean T {run.mean_temperature_K:.0f} K"
        print(f"reference MD {temperature:g} K: {len(run.frames)} frames, {mean}", flush=True)
    distances = np.array([_min_li_li_A(a) for a in frames])
    shortest = set(np.argsort(distances)[: max(2, len(frames) // 10)].tolist())
    hottest = {k for k, a in enumerate(frames) if a.info["temperature_K"] == TEMPERATURES_K[-1]}
    rare = [frames[k] for k in sorted(shortest | hottest)]
    return frames, rare, li_li_contacts(frames).frame_fraction


def pool(foundation: Path, steps: int, labeller: Any) -> list[Atoms]:
    """Frames of foundation-driven walkers, in MD time order, each labelled by CP2K."""
    committee = Committee([foundation], min_members=1)
    frames: list[Atoms] = []
    for k, temperature in enumerate(TEMPERATURES_K):
        start = pack_cell(CELL, density_g_per_cm3=1.7126, seed=k)
        settings = WalkerParameters(
            temperature_K=temperature, steps=steps, save_interval_steps=10, seed=k,
            early_stop_on_flags=False,
        )  # fmt: skip
        walked = run_walker(start, committee, settings, FlagChecker(FlagsSpec(), start, 300))
        frames += [f.atoms for f in walked.frames]
    labelled = []
    for atoms in frames:
        result = labeller.label(atoms)
        if result.ok and result.energy_eV is not None:
            labelled.append(labelled_frame(atoms, result.energy_eV, result.forces_eV_per_A))
    print(f"pool: {len(labelled)} of {len(frames)} walker frames labelled", flush=True)
    return labelled


class Run:
    """Fine-tuning and scoring with one training spec and foundation."""

    def __init__(self, foundation: Path, e0s: dict[int, float], epochs: int, work: Path) -> None:
        self.foundation, self.e0s, self.work = foundation, e0s, work
        self.training = DEMO_TRAINING.model_copy(
            update={"max_num_epochs": epochs, "valid_fraction": 0.15, "test_fraction": 0.0}
        )
        self.count = 0

    def fit(self, frames: list[Atoms], members: int, seed: int) -> list[Path]:
        self.count += 1
        training = self.training.model_copy(update={"seed": seed})
        fitted = fit_committee(
            frames, "fine_tune_naive", members, training, self.e0s, self.work / str(self.count),
            foundation=self.foundation,
        )  # fmt: skip
        return fitted.model_files


def committee_order(
    run: Run, pool_frames: list[Atoms], budgets: list[int], seed: int
) -> dict[int, list[int]]:
    """Pool indices the committee strategy holds at each budget."""
    rng = np.random.default_rng(seed)
    chosen = [int(k) for k in rng.permutation(len(pool_frames))[: budgets[0]]]
    held = {budgets[0]: list(chosen)}
    for budget in budgets[1:]:
        committee = Committee(run.fit([pool_frames[k] for k in chosen], 2, seed), min_members=2)
        rest = [k for k in range(len(pool_frames)) if k not in chosen]
        frames = [pool_frames[k] for k in rest]
        prediction = committee.predict(frames)
        descriptors = committee.descriptors(frames)
        checker = FlagChecker(FlagsSpec(), pool_frames[0], 300)
        candidates = [
            Candidate(
                index=k,
                max_deviation_eV_per_A=frame_deviation(
                    prediction.energies_eV[:, j], prediction.forces_eV_per_A[j]
                ).max_eV_per_A,
                flags=tuple(sorted({f.kind for f in checker.check(frames[j])})),
                descriptor=descriptors[j],
            )
            for j, k in enumerate(rest)
        ]
        spec = SelectionSpec(budget_per_iteration=budget - len(chosen), seed=seed)
        chosen += [d.index for d in select_frames(candidates, spec, WINDOW) if d.selected]
        held[budget] = list(chosen)
    return held


def baseline_order(
    pool_frames: list[Atoms], budgets: list[int], strategy: str, seed: int
) -> dict[int, list[int]]:
    """Pool indices the random or uniform baseline holds at each budget."""
    candidates = [Candidate(k, 0.0, (), np.zeros(1), time=(0, k)) for k in range(len(pool_frames))]
    held = {}
    for budget in budgets:
        spec = SelectionSpec(strategy=strategy, budget_per_iteration=budget, seed=seed)  # type: ignore[arg-type]
        held[budget] = [d.index for d in select_frames(candidates, spec, None) if d.selected]
    return held


def budget_to_reach(budgets: list[int], rmse: list[float], target: float) -> float | None:
    """Labels at which a force-RMSE curve reaches ``target`` (log-log interpolation)."""
    for k, value in enumerate(rmse):
        if value <= target:
            if k == 0:
                return float(budgets[0])
            x0, x1 = np.log(budgets[k - 1]), np.log(budgets[k])
            y0, y1 = np.log(rmse[k - 1]), np.log(rmse[k])
            return float(np.exp(x0 + (np.log(target) - y0) * (x1 - x0) / (y1 - y0)))
    return None


def contact_fraction(model: Path, steps: int, seed: int) -> float:
    start = pack_cell(CELL, density_g_per_cm3=1.7126, seed=500 + seed)
    settings = WalkerParameters(
        temperature_K=300.0, steps=steps, save_interval_steps=10, seed=seed,
        early_stop_on_flags=False,
    )  # fmt: skip
    committee = Committee([model], min_members=1)
    walked = run_walker(start, committee, settings, FlagChecker(FlagsSpec(), start, 300))
    return li_li_contacts([f.atoms for f in walked.frames]).frame_fraction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    settings = Cp2kSettings()
    parser.add_argument("--foundation", type=Path,
                        default=settings.home / "models" / "demo-foundation.model")  # fmt: skip
    parser.add_argument("--budgets", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pool-steps", type=int, default=400, help="per walker temperature")
    parser.add_argument("--reference-steps", type=int, default=100, help="per temperature")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--md-steps", type=int, default=400, help="contact MD per model")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/label_efficiency.json"))
    parser.add_argument("--markdown", type=Path, help="print a finished run's JSON as tables")
    args = parser.parse_args()
    if args.markdown is not None:
        print(markdown(json.loads(args.markdown.read_text())))
        return
    if not args.foundation.is_file():
        raise SystemExit(f"{args.foundation}: run `wise-al models build-demo-foundation` first")
    started = time.perf_counter()
    labeller = make_labeller(settings, LabellingSpec())
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        test, rare, reference_contacts = reference(args.reference_steps, work / "reference")
        pool_frames = pool(args.foundation, args.pool_steps, labeller)
        e0s = reference_energies(labeller, ["H", "Li", "C", "N", "O", "F", "S"])
        run = Run(args.foundation, e0s, args.epochs, work / "fits")
        foundation = evaluate(args.foundation, test)[0].forces_rmse_meV_per_A
        results: list[dict[str, Any]] = []
        for seed in args.seeds:
            orders = {"committee": committee_order(run, pool_frames, args.budgets, seed)}
            for strategy in ("random", "uniform"):
                orders[strategy] = baseline_order(pool_frames, args.budgets, strategy, seed)
            for strategy, held in orders.items():
                for budget in args.budgets:
                    model = run.fit([pool_frames[k] for k in held[budget]], 1, seed)[0]
                    row: dict[str, Any] = {"strategy": strategy, "seed": seed, "labels": budget}
                    for split, frames in (("test", test), ("rare", rare)):
                        errors = evaluate(model, frames)[0]
                        row[f"{split}_forces_rmse_meV_per_A"] = errors.forces_rmse_meV_per_A
                    if budget == args.budgets[-1]:
                        row["li_li_contact_fraction"] = contact_fraction(model, args.md_steps, seed)
                    results.append(row)
                    print(json.dumps(row), flush=True)
    report = summarise(results, args.budgets, args.seeds)
    report |= {
        "foundation_test_forces_rmse_meV_per_A": foundation,
        "reference_li_li_contact_fraction": reference_contacts,
        "pool_frames": len(pool_frames), "test_frames": len(test), "rare_frames": len(rare),
        "wall_time_s": time.perf_counter() - started, "runs": results,
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }  # fmt: skip
    args.out.write_text(json.dumps(report, indent=1))
    print_table(report, args.budgets)


def _curve(
    results: list[dict[str, Any]], strategy: str, seed: int, budgets: list[int], key: str
) -> list[float]:
    by_budget = {
        r["labels"]: r[key] for r in results if (r["strategy"], r["seed"]) == (strategy, seed)
    }
    return [float(by_budget[b]) for b in budgets]


def summarise(
    results: list[dict[str, Any]], budgets: list[int], seeds: list[int]
) -> dict[str, Any]:
    """Mean and spread per strategy and budget; labels to reach random's final error."""
    table: dict[str, Any] = {}
    for strategy in STRATEGIES:
        rows = [r for r in results if r["strategy"] == strategy]
        per_budget = {}
        for budget in budgets:
            at = [r for r in rows if r["labels"] == budget]
            test = [r["test_forces_rmse_meV_per_A"] for r in at]
            rare = [r["rare_forces_rmse_meV_per_A"] for r in at]
            per_budget[budget] = {
                "test_mean": float(np.mean(test)), "test_std": float(np.std(test)),
                "rare_mean": float(np.mean(rare)), "rare_std": float(np.std(rare)),
            }  # fmt: skip
        contacts = [r["li_li_contact_fraction"] for r in rows if "li_li_contact_fraction" in r]
        table[strategy] = {
            "by_budget": per_budget,
            "li_li_contact_fraction": float(np.mean(contacts)),
        }
    for split in ("test", "rare"):
        key = f"{split}_forces_rmse_meV_per_A"
        ratios: dict[str, list[float]] = {s: [] for s in STRATEGIES}
        for seed in seeds:
            curve = {s: _curve(results, s, seed, budgets, key) for s in STRATEGIES}
            target = curve["random"][-1]  # random's error at the largest budget
            random_need = budget_to_reach(budgets, curve["random"], target) or budgets[-1]
            for strategy in STRATEGIES:
                need = budget_to_reach(budgets, curve[strategy], target)
                if need is not None:
                    ratios[strategy].append(random_need / need)
        for strategy, values in ratios.items():
            table[strategy][f"{split}_label_ratio_vs_random"] = {
                "mean": float(np.mean(values)) if values else None,
                "std": float(np.std(values)) if values else None,
                "seeds_reaching": len(values), "seeds": len(seeds),
            }  # fmt: skip
    return {"strategies": table}


def print_table(report: dict[str, Any], budgets: list[int]) -> None:
    print(f"\nforce RMSE (meV/Å) on CP2K reference MD: mean ± std over seeds; "
          f"foundation alone {report['foundation_test_forces_rmse_meV_per_A']:.0f}")  # fmt: skip
    head = " ".join(f"{b:>15}" for b in budgets)
    print(f"{'strategy':<10} {'split':<5} {head}  labels vs random  Li–Li contacts")
    for strategy, values in report["strategies"].items():
        for split in ("test", "rare"):
            at = [values["by_budget"][b] for b in budgets]
            cells = " ".join(f"{v[f'{split}_mean']:>8.0f} ± {v[f'{split}_std']:<4.0f}" for v in at)
            ratio = values[f"{split}_label_ratio_vs_random"]
            shown = "-" if ratio["mean"] is None else f"{ratio['mean']:.2f} ± {ratio['std']:.2f}"
            contacts = f"{values['li_li_contact_fraction']:.1%}" if split == "test" else ""
            print(f"{strategy:<10} {split:<5} {cells}  {shown:>16}  {contacts}")
    print(f"reference MD Li–Li contacts: {report['reference_li_li_contact_fraction']:.1%}; "
          f"{report['wall_time_s'] / 60:.0f} min")  # fmt: skip


def markdown(report: dict[str, Any]) -> str:
    """The README's tables of a finished run."""
    budgets = [int(b) for b in report["arguments"]["budgets"]]
    lines = [
        "| strategy | split | "
        + " | ".join(f"{b} labels" for b in budgets)
        + " | labels vs random to reach random's error at "
        + f"{budgets[-1]} | Li–Li contact frames |",
        "|---|---|" + "---:|" * len(budgets) + "---:|---:|",
    ]
    for strategy, values in report["strategies"].items():
        for split in ("test", "rare"):
            cells = [
                f"{values['by_budget'][str(b)][f'{split}_mean']:.0f} ± "
                f"{values['by_budget'][str(b)][f'{split}_std']:.0f}"
                for b in budgets
            ]
            ratio = values[f"{split}_label_ratio_vs_random"]
            shown = (
                f"not reached ({ratio['seeds_reaching']}/{ratio['seeds']} seeds)"
                if ratio["mean"] is None
                else f"{ratio['mean']:.2f} ± {ratio['std']:.2f} "
                f"({ratio['seeds_reaching']}/{ratio['seeds']} seeds)"
            )
            contacts = f"{values['li_li_contact_fraction']:.1%}" if split == "test" else ""
            lines.append(f"| {strategy} | {split} | {' | '.join(cells)} | {shown} | {contacts} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
