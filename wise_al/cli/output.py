"""Printing for the CLI: rich for people, plain JSON for scripts, errors on one line."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wise_al.errors import clip
from wise_al.observables.registry import CN_REFERENCE, OBSERVABLES
from wise_al.systems.species import SALTS

console = Console(soft_wrap=True)  # never break lines mid-sentence when piped
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Machine-readable output: JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_error(message: str) -> None:
    """One readable line on stderr (newlines folded so scripts can grep it)."""
    line = escape(clip(" ".join(message.split())))
    err_console.print(f"[bold red]error:[/] {line}", markup=True)


def composition_text(composition: dict[str, Any]) -> str:
    """``LiTFSI 21 m x16`` or ``LiTFSI 2 + H2O 5``."""
    if composition.get("kind") == "molality":
        return (
            f"{composition['salt']} {composition['molality_mol_per_kg']:g} m, "
            f"{composition['ion_pairs']} pairs"
        )
    # Salts first, then the rest by name: PostgreSQL's JSONB does not keep key order.
    molecules = sorted(
        composition.get("molecules", {}).items(), key=lambda m: (m[0] not in SALTS, m[0])
    )
    return " + ".join(f"{n} {name}" for name, n in molecules)


def campaign_table(items: list[dict[str, Any]], total: int) -> Table:
    """A table of campaigns for ``wise-al campaigns``."""
    table = Table(title=f"{len(items)} of {total} campaigns", title_justify="left")
    for column in ("id", "name", "status", "system", "strategy", "labels", "created"):
        table.add_column(column, no_wrap=column in ("id", "status"))
    for c in items:
        summary = c["summary"]
        table.add_row(
            str(c["id"]),
            c["name"],
            c["status"],
            composition_text(summary["composition"]),
            f"{summary['strategy']} x{summary['committee_size']}",
            summary["labelling_method"],
            str(c["created_at"])[:19].replace("T", " "),
        )
    return table


def campaign_details(campaign: dict[str, Any]) -> Table:
    """Key/value view of one campaign for ``wise-al show``."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    summary = campaign["summary"]
    rows = {
        "id": campaign["id"],
        "name": campaign["name"],
        "status": campaign["status"]
        + (f" ({campaign['status_reason']})" if campaign.get("status_reason") else ""),
        "system": composition_text(summary["composition"]),
        "model": f"{summary['strategy']}, committee of {summary['committee_size']}",
        "labels": summary["labelling_method"],
        "iterations (max)": summary["max_iterations"],
        "created": f"{campaign['created_at']} by {campaign.get('created_by') or '?'}",
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    return table


#: Held-out splits of a committee's errors; each has its own column, never a fallback.
HELD_OUT_SPLITS = ("valid", "test", "external")


def iterations_table(iterations: list[dict[str, Any]]) -> Table:
    """Per iteration: exploration verdict, selection, held-out force errors by split, and
    how the exploring committee's deviation compared with its true error (calibration).
    """
    splits = [
        split
        for split in HELD_OUT_SPLITS
        if split != "external"
        or any("external_forces_rmse_meV_per_A" in it["metrics"].get("evaluation", {})
               for it in iterations)
    ]  # fmt: skip
    table = Table(
        "iteration", "phase", "frames saved", "accurate", "MD steps to 1st flag", "selected",
        *(f"force RMSE {split} (meV/Å)" for split in splits),
        "σ / error",
    )  # fmt: skip
    for it in iterations:
        metrics = it["metrics"]
        explored = metrics.get("exploration", {})
        evaluation = metrics.get("evaluation", {})
        ratio = explored.get("accurate_ratio")
        calibration = metrics.get("calibration") or {}
        dispersion = calibration.get("dispersion_ratio")
        verdict = ""
        if dispersion is not None:
            verdict = f"{dispersion:.2g}" + (
                " under-dispersed" if calibration.get("under_dispersed") else ""
            )
        table.add_row(
            str(it["index"]),
            str(it.get("phase", "")),
            str(explored.get("saved", "")),
            f"{ratio:.0%}" if ratio is not None else "- (no committee yet)",
            _first_flag(explored),
            str(metrics.get("selected", "")),
            *(_number(evaluation.get(f"{split}_forces_rmse_meV_per_A")) for split in splits),
            verdict,
        )
    return table


def _first_flag(explored: dict[str, Any]) -> str:
    """The step of the first flagged frame, or how long the walkers ran without one."""
    if "md_steps" not in explored:
        return ""  # explored before this was recorded, or not explored (seeded, baseline)
    first = explored.get("first_flag_step")
    return str(first) if first is not None else f"none in {explored['md_steps']}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def validations_table(validations: list[dict[str, Any]]) -> Table:
    """Per validated iteration: every tabled observable
    (:data:`~wise_al.observables.registry.OBSERVABLES`) and each metric's grade against the
    benchmark's thresholds."""
    columns = [o for o in OBSERVABLES.values() if o.in_table]
    table = Table(
        "iteration", *(o.label for o in columns), "grades",
        title=f"Against experiment (1.7126 g/cm³, X-ray S(q)); CN graded against the r2SCAN "
        f"references {CN_REFERENCE['water']} water O / {CN_REFERENCE['tfsi']} TFSI O",
    )  # fmt: skip
    for v in validations:
        grades = ", ".join(f"{s['metric']}: {s['grade']}" for s in v["scores"])
        table.add_row(
            str(v["iteration_index"]),
            *(o.shown(v["observables"]) for o in columns),
            grades or str(v.get("error") or v["status"]),
        )
    return table
