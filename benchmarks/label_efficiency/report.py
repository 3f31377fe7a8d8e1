"""From rows to the report: Kaplan–Meier per arm, paired differences, tables, a plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.label_efficiency.arms import ARMS
from benchmarks.label_efficiency.endpoints import fused_runs
from benchmarks.label_efficiency.stats import (
    kaplan_meier,
    labels_to_pass,
    log_rank,
    paired,
    with_q_values,
)

SETS = ("contact", "random")
#: Arms compared with random, seed by seed.
VERSUS_RANDOM = ("committee", "flags", "uniform")


def _rows(
    rows: Sequence[dict[str, Any]], arm: str, seed: int | None = None
) -> list[dict[str, Any]]:
    return [r for r in rows if r["arm"] == arm and (seed is None or r["seed"] == seed)]


def summarise(
    rows: Sequence[dict[str, Any]], budgets: Sequence[int], seeds: Sequence[int]
) -> dict[str, Any]:
    """Every number the README reports, from the measured rows.

    Labels to pass are counted over the **informative** seeds only: those whose shared
    first-budget model failed the survival MD. Where it passed, every arm passes at the
    same labels by construction and the seed says nothing about selection. An arm of a seed
    stopped before the largest budget is censored at the last budget it measured.
    """
    informative = [
        s
        for s in seeds
        if not any(r.get("survival", {}).get("passed") for r in _rows(rows, "random", s)
                   if r["labels"] == budgets[0])
    ]  # fmt: skip
    times = {
        arm: [
            labels_to_pass(mine, max(r["labels"] for r in mine))
            for s in informative
            if (mine := _rows(rows, arm, s))
        ]
        for arm in ARMS
    }
    arms: dict[str, Any] = {}
    for arm in ARMS:
        by_budget = {}
        for budget in budgets:
            at = [r for r in _rows(rows, arm) if r["labels"] == budget]
            entry: dict[str, Any] = {}
            for name in SETS:
                values = [r[f"{name}_forces_rmse_meV_per_A"] for r in at]
                entry[name] = {  # None: no seed reached this budget yet
                    "mean": float(np.mean(values)) if values else None,
                    "std": float(np.std(values)) if values else None,
                    "n": len(values),
                }
            checks = [r["survival"] for r in at if "survival" in r]
            measured = [c["physical_fraction"] for c in checks]
            entry["physical_fraction"] = float(np.mean(measured)) if measured else None
            entry["survival_measured"] = len(measured)
            # the count behind pass / fail: how many runs fused, of how many
            entry["fused_runs"] = sum(fused_runs(c) for c in checks)
            entry["survival_runs"] = sum(len(c["runs"]) for c in checks)
            closest = [r["closest_li_li_A"] for c in checks for r in c["runs"]]
            entry["closest_li_li_A"] = min((d for d in closest if d is not None), default=None)
            by_budget[budget] = entry
        arms[arm] = {
            "kaplan_meier": kaplan_meier(times[arm]),
            "by_budget": by_budget,
            "labels_to_pass": [list(t) for t in times[arm]],
        }
    comparisons: dict[str, list[dict[str, Any]]] = {}
    for name in SETS:
        key = f"{name}_forces_rmse_meV_per_A"
        table = []
        for arm in VERSUS_RANDOM:
            for budget in budgets:
                differences = []
                for seed in seeds:
                    mine = [r[key] for r in _rows(rows, arm, seed) if r["labels"] == budget]
                    theirs = [r[key] for r in _rows(rows, "random", seed) if r["labels"] == budget]
                    if mine and theirs:
                        differences.append(mine[0] - theirs[0])
                table.append({"arm": arm, "labels": budget, **paired(differences)})
        comparisons[name] = with_q_values(table)
    log_ranks = {
        f"{a} vs {b}": log_rank(times[a], times[b])
        for a, b in (
            ("committee", "random"),
            ("committee", "flags"),
            ("committee", "uniform"),
            ("flags", "random"),
        )
    }
    return {
        "informative_seeds": informative,
        "arms": arms,
        "paired_vs_random": comparisons,
        "log_rank_p": log_ranks,
        "verdict": verdict(arms, comparisons, log_ranks, len(informative), len(seeds)),
    }


def verdict(
    arms: dict[str, Any],
    comparisons: dict[str, Any],
    log_ranks: dict[str, Any],
    informative: int,
    seeds: int,
) -> str:
    """The plain sentence: fewer labels than random to remove the failure, and where worse."""
    median = {arm: arms[arm]["kaplan_meier"]["median"] for arm in ARMS}
    ours, theirs = median["committee"], median["random"]
    if not seeds:
        return "No seed measured yet: nothing to say."
    if not informative:
        removed = (
            "Labels to remove the failure are not measurable here: in every seed the model "
            "fine-tuned on the first, shared labels already passed the survival MD"
        )
    elif ours is None:
        removed = (
            "Committee selection did not remove the contacts within the budgets measured "
            f"(up to {_reached(arms, 'committee')} labels)"
        )
    elif theirs is None:
        removed = (
            f"Committee selection removed the contacts at a median of {ours:.0f} labels; "
            f"random selection did not within the budgets measured (up to "
            f"{_reached(arms, 'random')} labels)"
        )
    else:
        removed = (
            f"Committee selection removed the contacts at a median of {ours:.0f} labels, "
            f"random at {theirs:.0f} ({theirs / ours:.2f}x)"
        )
    p = log_ranks["committee vs random"]
    removed += "" if p is None else f" (log-rank p = {p:.3g})"
    worse = [
        c
        for c in comparisons["random"]
        if c["arm"] == "committee" and c.get("q", 1.0) < 0.05 and c["mean"] > 0
    ]
    better = [
        c
        for c in comparisons["random"]
        if c["arm"] == "committee" and c.get("q", 1.0) < 0.05 and c["mean"] < 0
    ]
    if worse:
        where = ", ".join(f"{c['labels']} labels (+{c['mean']:.0f} meV/Å)" for c in worse)
        held_out = f"it is significantly worse than random on the random set at {where}"
    elif better:
        held_out = (
            "on the random set it is never significantly worse than random, and better at "
            + ", ".join(str(c["labels"]) for c in better)
            + " labels"
        )
    else:
        held_out = "on the random set it is never significantly different from random"
    return f"{removed}; {held_out} (Wilcoxon, Benjamini–Hochberg q < 0.05)."


def _reached(arms: dict[str, Any], arm: str) -> str:
    """The largest budget an arm measured in any informative seed."""
    return f"{max(t for t, _ in arms[arm]['labels_to_pass']):.0f}"


def markdown(report: dict[str, Any]) -> str:
    """The README's tables."""
    arms, budgets = report["summary"]["arms"], report["arguments"]["budgets"]
    informative = report["summary"]["informative_seeds"]
    lines = [
        f"Seeds whose first, shared model failed the survival MD: {len(informative)} of "
        f"{len(report['seeds_reported'])} (only these can time the removal of the failure).",
        "",
        "| arm | median labels to remove contacts (95 % CI) | seeds passing |",
        "|---|---:|---:|",
    ]
    for arm in ARMS:
        km = arms[arm]["kaplan_meier"]
        low, high = km["median_ci"]
        if not km["seeds"]:
            lines.append(f"| {arm} | not measurable (no informative seed) | 0/0 |")
            continue
        shown = "not reached" if km["median"] is None else f"{km['median']:.0f}"
        ci = "({} to {})".format(
            "–" if low is None else f"{low:.0f}", "not reached" if high is None else f"{high:.0f}"
        )
        lines.append(f"| {arm} | {shown} {ci} | {km['events']}/{km['seeds']} |")
    lines += [
        "",
        f"Survival runs with two Li⁺ under {report.get('survival_li_li_A', 2.2)} Å, of the runs "
        "measured (closest Li⁺–Li⁺ in Å); an arm's checks stop once it passes:",
        "",
        "| arm | " + " | ".join(f"{b} labels" for b in budgets) + " |",
        "|---|" + "---:|" * len(budgets),
    ]
    for arm in ARMS:
        cells = []
        for budget in budgets:
            e = arms[arm]["by_budget"].get(budget) or arms[arm]["by_budget"].get(str(budget))
            if not e or not e.get("survival_runs"):
                cells.append("–")
                continue
            closest = "" if e["closest_li_li_A"] is None else f" ({e['closest_li_li_A']:.2f})"
            cells.append(f"{e['fused_runs']}/{e['survival_runs']}{closest}")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| set | arm minus random (meV/Å) | " + " | ".join(str(b) for b in budgets) + " |",
        "|---|---|" + "---:|" * len(budgets),
    ]
    for name in SETS:
        for arm in VERSUS_RANDOM:
            cells = []
            for c in report["summary"]["paired_vs_random"][name]:
                if c["arm"] != arm:
                    continue
                if not c["n"]:
                    cells.append("–")  # no seed paired at this budget yet
                    continue
                mark = "*" if c.get("q", 1.0) < 0.05 else ""
                cells.append(f"{c['mean']:+.0f}{mark}")
            lines.append(f"| {name} | {arm} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "`*`: Benjamini–Hochberg q < 0.05 (Wilcoxon signed-rank, paired by seed).",
        "",
        report["summary"]["verdict"],
    ]
    return "\n".join(lines)


def plot(report: dict[str, Any], out: Path) -> Path:
    """Kaplan–Meier curves of "contacts still there" against labels, and the paired
    differences on both sets, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    summary = report["summary"]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    if not summary["informative_seeds"]:
        axes[0].text(0.5, 0.5, "not measurable:\nevery seed's first, shared model\nalready passed",
                     ha="center", va="center", transform=axes[0].transAxes)  # fmt: skip
    for k, arm in enumerate(ARMS if summary["informative_seeds"] else ()):
        km = summary["arms"][arm]["kaplan_meier"]
        # the curve ends where the arm's last seed stopped: beyond, nothing was measured
        reached = max(t for t, _ in summary["arms"][arm]["labels_to_pass"])
        x = [0.0, *km["labels"], reached]
        y = [1.0, *km["survival"], km["survival"][-1] if km["survival"] else 1.0]
        # arms on the same steps are drawn apart by a hair, so none hides another
        y = [v - 0.006 * k for v in y]
        line = axes[0].step(x, y, where="post", label=arm, marker="o", markersize=4)[0]
        if km["labels"]:
            axes[0].fill_between(
                [0.0, *km["labels"]],
                [1.0, *km["low"]],
                [1.0, *km["high"]],
                step="post",
                alpha=0.12,
                color=line.get_color(),
            )
    axes[0].set(
        xlabel="labels",
        ylabel="P(Li–Li contacts still there)",
        ylim=(-0.02, 1.02),
        title="Survival MD: contacts gone (Kaplan–Meier)",
    )
    if summary["informative_seeds"]:
        axes[0].legend()
    for axis, name in zip(axes[1:], SETS, strict=True):
        for arm in VERSUS_RANDOM:
            rows = [c for c in summary["paired_vs_random"][name] if c["arm"] == arm]
            mean = np.array([c["mean"] for c in rows])
            low = np.array([np.nan if c["ci"][0] is None else c["ci"][0] for c in rows])
            high = np.array([np.nan if c["ci"][1] is None else c["ci"][1] for c in rows])
            axis.errorbar(
                [c["labels"] for c in rows],
                mean,
                yerr=[mean - low, high - mean],
                capsize=3,
                marker="o",
                label=arm,
            )
        axis.axhline(0.0, color="0.5", linewidth=1)
        axis.set(
            xlabel="labels",
            ylabel="force RMSE minus random's (meV/Å)",
            title=f"{name} set, paired by seed (95 % CI)",
        )
        axis.legend()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
