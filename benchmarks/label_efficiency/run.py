"""One seed of the pool-based benchmark: every arm, every budget, every endpoint.

Rows are appended to a JSON-lines file as they are measured, so a run resumes: a row
already there is not measured again (its models are reused from the fitter's folder, and
the committee arm's selection is recomputed from them: it is deterministic).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ase import Atoms

from benchmarks.label_efficiency.arms import ARMS, CommitteeState, first_labels, next_labels
from benchmarks.label_efficiency.endpoints import (
    SURVIVAL_LI_LI_A,
    Fitter,
    force_errors,
    survival,
)
from wise_al.mace.committee import Committee


@dataclass(frozen=True)
class SurvivalProtocol:
    """The survival MD: every start, ``steps`` of NVT at ``temperature_K``, two Li⁺ under
    ``li_li_A`` a break."""

    starts: list[Atoms]
    temperature_K: float
    steps: int
    li_li_A: float = SURVIVAL_LI_LI_A

    def of(self, model: Path, seed: int) -> dict[str, Any]:
        return survival(model, self.starts, self.temperature_K, self.steps, seed, self.li_li_A)


def describe(row: dict[str, Any]) -> str:
    """One progress line for a measured row."""
    outcome = row.get("survival")
    shown = (
        "not run" if outcome is None else f"{outcome['runs_intact']}/{len(outcome['runs'])} intact"
    )
    return (
        f"seed {row['seed']} {row['arm']:<9} {row['labels']:>3} labels: contact "
        f"{row['contact_forces_rmse_meV_per_A']:.0f}, random "
        f"{row['random_forces_rmse_meV_per_A']:.0f} meV/Å; survival {shown}"
    )


def load_rows(path: Path) -> list[dict[str, Any]]:
    """Rows stored so far (none when the file is missing)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_seed(
    seed: int,
    pool: list[Atoms],
    test_sets: dict[str, list[Atoms]],
    fitter: Fitter,
    budgets: Sequence[int],
    members: int,
    protocol: SurvivalProtocol,
    rows_file: Path,
    say: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Every arm's rows for ``seed``; survival MD runs until an arm first passes."""
    stored = {(r["arm"], r["labels"]): r for r in load_rows(rows_file) if r["seed"] == seed}
    held = {arm: first_labels(len(pool), budgets[0], seed) for arm in ARMS}
    passed = dict.fromkeys(ARMS, False)
    state = CommitteeState()
    shared_survival: dict[str, Any] | None = None
    rows = []
    for i, budget in enumerate(budgets):
        for arm in ARMS:
            # the first budget's labels are the same for every arm: one fit, shared. Every
            # arm's scored model is one fit on all its labels; the committee arm also fits
            # K bootstrapped members, which choose its next labels
            frames = [pool[k] for k in held[arm]]
            scored = fitter.fit(
                frames, 1, seed, f"seed{seed}/{'first' if i == 0 else arm}/labels{budget}"
            )[0]
            row = stored.get((arm, budget))
            if row is None:
                row = {
                    "arm": arm,
                    "seed": seed,
                    "labels": budget,
                    "held": held[arm],
                    **force_errors(scored, test_sets),
                }
                if not passed[arm]:
                    if i == 0 and shared_survival is not None:
                        row["survival"] = shared_survival
                    else:
                        row["survival"] = protocol.of(scored, seed)
                with rows_file.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
            if i == 0:
                shared_survival = row.get("survival")
            passed[arm] = passed[arm] or bool(row.get("survival", {}).get("passed"))
            rows.append(row)
            say(describe(row))
            if i + 1 == len(budgets) or arm in ("random", "uniform"):
                if i + 1 < len(budgets):
                    step = budgets[i + 1] - budget
                    held[arm] = held[arm] + next_labels(arm, pool, held[arm], step, seed, i)
                continue
            if arm == "committee":
                name = f"seed{seed}/{'first' if i == 0 else arm}-members/labels{budget}"
                members_files = fitter.fit(frames, members, seed, name, bootstrap=True)
                judge = Committee(members_files, min_members=2)
            else:  # flags: its own model gives the descriptors
                judge = Committee([scored], min_members=1)
            step = budgets[i + 1] - budget
            held[arm] = held[arm] + next_labels(
                arm, pool, held[arm], step, seed, i, judge, state if arm == "committee" else None
            )
    # the committee arm's calibration at each step (slope, Spearman, the scale it used)
    calibrations = rows_file.with_name(f"calibrations-seed{seed}.json")
    calibrations.write_text(json.dumps(state.calibrations, indent=1))
    return rows
