"""Command line of the label-efficiency benchmark (see the package docstring)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms

from benchmarks.label_efficiency import cache, pool, report, truth
from benchmarks.label_efficiency.arms import ARMS
from benchmarks.label_efficiency.endpoints import (
    FITTERS,
    SURVIVAL_LI_LI_A,
    SURVIVAL_STARTS,
    Fitter,
    force_errors,
    fused_runs,
    li_li_force_profile,
)
from benchmarks.label_efficiency.run import SurvivalProtocol, load_rows, run_seed
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cli.demo_foundation import DEMO_TRAINING, ELEMENTS
from wise_al.cp2k.e0s import reference_energies
from wise_al.cp2k.label import Labeller, make_labeller
from wise_al.observables.contacts import closest_li_li_A
from wise_al.settings import Cp2kSettings

Say = Callable[[str], None]


def arguments() -> argparse.Namespace:
    home = Cp2kSettings().home
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.label_efficiency",
        description="Does active learning save labels?",
    )
    add = parser.add_argument
    add(
        "--work",
        type=Path,
        default=home / "benchmarks" / "label-efficiency",
        help="every stage's results, reused when the benchmark runs again",
    )
    add("--foundation", type=Path, default=home / "models" / "demo-foundation.model")
    add(
        "--start",
        choices=list(pool.STARTS),
        default="weak",
        help="the failing potential every arm fine-tunes: "
        + "; ".join(f"{k}: {v}" for k, v in pool.STARTS.items()),
    )
    add(
        "--start-model",
        type=Path,
        help="any other failing potential (instead of --start); each start's pool and fits "
        "are kept under a folder named after it",
    )
    add("--start-cells", type=int, default=3)
    add("--temperatures", type=float, nargs="+", default=[300.0, 400.0, 500.0])
    add("--reference-ps", type=float, default=10.0, help="CP2K MD in all, over the temperatures")
    add("--segment-ps", type=float, default=0.5)
    add("--save-every-fs", type=float, default=20.0)
    add("--scan-A", type=float, nargs="+", default=[round(1.6 + 0.2 * k, 1) for k in range(13)])
    add("--scan-relax-steps", type=int, default=20)
    add("--random-frames", type=int, default=100, help="reference frames in the random set")
    add("--pool-frames", type=int, default=300, help="walkers run until the pool holds this many")
    add("--pool-walkers", type=int, default=60, help="at most")
    add("--pool-steps", type=int, default=1000)
    add("--pool-save-every", type=int, default=10, help="steps")
    add("--seeds", type=int, nargs="+", default=list(range(10)))
    add("--budgets", type=int, nargs="+", default=list(range(4, 65, 4)))
    add("--members", type=int, default=4, help="committee size (K)")
    add("--gradient-steps", type=int, default=160, help="optimiser steps per fit")
    add(
        "--fitter",
        choices=FITTERS,
        default="in-process",
        help="fine-tune in this process, or with mace's own trainer as the product does",
    )
    add("--survival-starts", type=int, default=5)
    add("--survival-ps", type=float, default=1.0)
    add("--survival-temperature", type=float, default=300.0)
    add(
        "--survival-li-li-A",
        type=float,
        default=SURVIVAL_LI_LI_A,
        help="two Li⁺ closer than this break a survival run (the product flags a contact at 2.6 Å)",
    )
    add(
        "--survival-from",
        choices=list(SURVIVAL_STARTS),
        default="packed",
        help="where survival runs start: "
        + "; ".join(f"{k}: {v}" for k, v in SURVIVAL_STARTS.items()),
    )
    add(
        "--threads",
        type=int,
        default=1,
        help="torch threads for MACE (a 47-atom cell gains nothing from more; beside a CP2K "
        "job, 2 threads on 2 cores ran MD 4-8x slower than 1)",
    )
    add("--out", type=Path, default=Path("benchmarks/results/label_efficiency.json"))
    add("--plot", type=Path, default=Path("benchmarks/results/label_efficiency.png"))
    add(
        "--only",
        choices=["reference-md", "truth", "start-model", "pool"],
        help="run this stage alone (its results stay in --work for the whole run)",
    )
    add("--report-only", action="store_true", help="report the seeds measured so far")
    add("--markdown", type=Path, help="print a finished run's JSON as the README's tables")
    return parser.parse_args()


def explored_pool(
    args: argparse.Namespace, folder: Path, start_model: Path, labeller: Labeller, say: Say
) -> list[Atoms]:
    """The labelled pool of ``start_model`` (explored and labelled once, then read from
    ``folder``)."""
    explored = cache.frames(
        folder / "pool.extxyz",
        lambda: pool.label(
            pool.explore(
                start_model,
                args.temperatures,
                args.pool_frames,
                args.pool_walkers,
                args.pool_steps,
                args.pool_save_every,
                say,
            ),
            labeller,
            say,
        ),
    )
    onsets = sum(a.info["onset_of_step"] >= 0 for a in explored)
    say(f"pool: {len(explored)} labelled frames, {onsets} at a break's onset")
    return explored


def start_folder(args: argparse.Namespace) -> Path:
    """Where the pool and fits of this start live: another start explores another pool."""
    name = args.start if args.start_model is None else args.start_model.stem
    return args.work / f"start-{name}"


def main() -> None:
    args = arguments()
    if args.markdown is not None:
        print(report.markdown(json.loads(args.markdown.read_text())))
        return
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    log = (work / "log.txt").open("a")

    def say(line: str) -> None:  # the terminal and a log
        stamped = f"[{time.perf_counter() - started:7.0f} s] {line}"
        print(stamped, flush=True)
        log.write(stamped + "\n")
        log.flush()

    # hot cells need more SCF cycles than single points; max_scf is not the level of theory
    labeller = make_labeller(Cp2kSettings(), LabellingSpec(max_scf=300))
    long_runs = dataclasses.replace(labeller.profile, time_limit_s=12 * 3600)
    e0s = reference_energies(labeller, ELEMENTS)

    def start_frames() -> list[Atoms]:
        if args.start != "demo":
            return pool.start_frames(labeller, long_runs, args.start_cells, work / "start")
        # the demo's first labels come from the foundation's own exploration
        foundation = explored_pool(args, work / "start-foundation", args.foundation, labeller, say)
        return pool.demo_first_labels(foundation)

    def start_model_file() -> Path:  # built (once, then read) where a stage needs it
        if args.start_model is not None:
            return Path(args.start_model)
        if not args.foundation.is_file():
            raise SystemExit(f"{args.foundation}: run `wise-al models build-demo-foundation` first")
        # the demo's own first fit (learning rate 1e-2): it forgets what its few labels miss
        fitter = Fitter(
            args.foundation, e0s, args.gradient_steps, work / "start", args.fitter, DEMO_TRAINING
        )
        return pool.start_model(args.start, start_frames, e0s, fitter)

    if args.only == "pool":
        explored_pool(args, start_folder(args), start_model_file(), labeller, say)
        return
    md = truth.reference_md(
        labeller,
        long_runs,
        args.temperatures,
        args.reference_ps,
        args.segment_ps,
        args.save_every_fs,
        work / "reference-md",
        say,
    )
    if args.only == "reference-md":
        return
    cold = [a for a in md if a.info["temperature_K"] == min(args.temperatures)]
    scan = truth.li_li_scan(
        labeller, long_runs, cold[-1], args.scan_A, args.scan_relax_steps, work / "scan", say
    )
    held = truth.held_out(md, scan, args.random_frames, args.survival_starts)
    sets = {"contact": held.contact_set, "random": held.random_set}
    say(
        f"truth: {len(md)} reference MD frames, {len(scan)} scan frames; contact set "
        f"{len(held.contact_set)}, random set {len(held.random_set)}"
    )
    contacts = truth.reference_contacts(md)
    for temperature, seen in contacts.items():
        say(
            f"truth at {temperature} K: closest Li⁺–Li⁺ {seen['closest_li_li_A']:.2f} Å, "
            f"{seen['frames_in_contact']:.0%} of frames under {seen['contact_A']:g} Å"
        )
    if args.only == "truth":
        return
    start = start_model_file()
    steps = round(args.survival_ps * 1000 / truth.TIMESTEP_FS)
    # what fits and survival MD depend on names their folder: other settings, other results
    checked = start_folder(args) / (
        f"survival{args.survival_starts}x{args.survival_ps:g}ps-{args.survival_temperature:g}K"
        + ("" if args.survival_from == "reference" else f"-{args.survival_from}")
        + ("" if args.survival_li_li_A == SURVIVAL_LI_LI_A else f"-lili{args.survival_li_li_A:g}A")
    )
    run = checked / (
        f"fits{args.gradient_steps}-{args.fitter}-K{args.members}-budgets"
        + "-".join(str(b) for b in args.budgets)
    )
    starts = (
        held.starts
        if args.survival_from == "reference"
        else truth.packed_starts(args.survival_starts)
    )
    protocol = SurvivalProtocol(starts, args.survival_temperature, steps, args.survival_li_li_A)
    start_model: dict[str, Any] = cache.record(
        checked / "start-model.json",
        lambda: {
            "model": str(start),
            "start": str(args.start_model) if args.start_model else args.start,
            "foundation": str(args.foundation),
            **force_errors(start, sets),
            "survival": protocol.of(start, seed=0),
        },
    )
    survived = start_model["survival"]
    profile: list[dict[str, Any]] = cache.record(
        checked / "start-li-li-push.json", lambda: li_li_force_profile(start, scan)
    )
    pulls = [p for p in profile if p["model_push_eV_per_A"] < 0 < p["labels_push_eV_per_A"]]
    where = ", ".join(f"{p['li_li_A']:g}" for p in pulls) or "none"
    say(
        f"start model: pulls the two Li⁺ together on {len(pulls)} of {len(profile)} scan "
        f"frames where the labels push them apart (at {where} Å)"
    )
    fused = fused_runs(survived)
    say(
        f"start model: {survived['runs_intact']}/{len(survived['runs'])} survival runs intact, "
        f"{fused} brought two Li⁺ under {args.survival_li_li_A:g} Å"
    )
    if survived["passed"]:
        raise SystemExit(
            "the start model stays intact in every survival run: nothing to learn; "
            "pass a weaker --start or --start-model"
        )
    if not fused:
        say(
            "the start model never fuses Li⁺: labels to pass time its other failures, "
            "not the Li⁺ contact"
        )
    if args.only == "start-model":
        return
    explored = explored_pool(args, start_folder(args), start, labeller, say)
    if len(explored) < args.budgets[-1] * 2:
        raise SystemExit(
            f"a pool of {len(explored)} frames cannot hold budgets up to "
            f"{args.budgets[-1]}: explore more (--pool-walkers, --pool-steps)"
        )
    fitter = Fitter(start, e0s, args.gradient_steps, run / "fits", args.fitter)
    rows_file = run / "rows.jsonl"
    for seed in [] if args.report_only else args.seeds:
        run_seed(seed, explored, sets, fitter, args.budgets, args.members, protocol, rows_file, say)
    measured = load_rows(rows_file)
    # a seed counts once every arm has its first budget; a stopped run leaves the later ones
    # out, and an arm is censored at the last budget it measured
    seeds = [
        s
        for s in args.seeds
        if {(r["arm"], r["labels"]) for r in measured if r["seed"] == s}
        >= {(arm, args.budgets[0]) for arm in ARMS}
    ]
    rows = [r for r in measured if r["seed"] in seeds and r["labels"] in args.budgets]
    say(f"report over seeds {seeds} (of {args.seeds})")
    finished = {
        "summary": report.summarise(rows, args.budgets, seeds),
        "seeds_reported": seeds,
        "start_model": start_model | {"li_li_force_profile": profile},
        "truth": {
            "reference_md_frames": len(md),
            "reference_md_ps": args.reference_ps,
            "scan_frames": len(scan),
            "contact_set": len(held.contact_set),
            "random_set": len(held.random_set),
            "contact_set_li_li_A": sorted(a.info["li_li_A"] for a in held.contact_set),
            "reference_closest_li_li_A": min(closest_li_li_A(a) or np.inf for a in md),
            "reference_contacts_by_temperature_K": contacts,
        },
        "pool_frames": len(explored),
        "committee_calibrations": {  # written when a seed finishes
            seed: json.loads(found.read_text())
            for seed in seeds
            if (found := run / f"calibrations-seed{seed}.json").is_file()
        },
        "survival_li_li_A": args.survival_li_li_A,
        "wall_time_s": time.perf_counter() - started,
        "rows": rows,
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(finished, indent=1))
    report.plot(finished, args.plot)
    print(report.markdown(finished))
    say(f"done in {(time.perf_counter() - started) / 60:.0f} min: {args.out}, {args.plot}")


if __name__ == "__main__":
    main()
