"""What the loop learned, as tables: Li⁺ contacts of each validation MD beside CP2K's own
MD of the cell, and how each exploring committee's deviation compared with its error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ase import Atoms
from rich.table import Table

from wise_al.observables.contacts import LI_LI_CONTACT_A, li_li_contacts


def _number(value: float | None, digits: int, unit: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def contacts_table(
    iterations: list[dict[str, Any]],
    validations: list[dict[str, Any]],
    reference: Sequence[Atoms] = (),
) -> Table:
    """Per validated iteration: closest and mean closest Li–Li distance of its validation
    MD, the share of frames with a contact, whether the run broke, and the committee's force
    RMSE on the external test set; CP2K's reference MD as the last row."""
    table = Table(
        "iteration", "Li–Li closest (Å)", "Li–Li mean closest (Å)",
        f"frames with Li–Li < {LI_LI_CONTACT_A:g} Å", "run", "force RMSE external (meV/Å)",
        title="Li⁺–Li⁺ contacts in validation MD (the paper's failure) against CP2K's MD",
    )  # fmt: skip
    rmse = {
        it["index"]: it["metrics"].get("evaluation", {}).get("external_forces_rmse_meV_per_A")
        for it in iterations
    }
    for v in validations:
        o = v.get("observables") or {}
        broke = o.get("broke_at_step")
        table.add_row(
            str(v["iteration_index"]),
            _number(o.get("li_li_closest_A"), 2),
            _number(o.get("li_li_mean_closest_A"), 2),
            _number(o.get("li_li_contact_fraction"), 2),
            str(v.get("error") or v["status"]) if v["status"] != "done"
            else ("intact" if broke is None else f"broke at step {broke}"),
            _number(rmse.get(v["iteration_index"]), 0),
        )  # fmt: skip
    if reference:
        found = li_li_contacts(list(reference))
        table.add_row(
            "CP2K MD",
            _number(found.closest_A, 2),
            _number(found.mean_closest_A, 2),
            _number(found.frame_fraction, 2),
            f"{len(reference)} frames",
            "0 (the reference)",
        )
    return table


def contacts_verdict(validations: list[dict[str, Any]]) -> str:
    """One sentence: does the last validation MD hold a Li⁺ pair in contact?"""
    done = [v for v in validations if v["status"] == "done"]
    if not done:
        return "no validation MD finished: Li⁺ contacts not measured"
    last = done[-1]
    o = last.get("observables") or {}
    closest, share = o.get("li_li_closest_A"), o.get("li_li_contact_fraction")
    where = f"iteration {last['iteration_index']}'s validation MD"
    if closest is None or share is None:
        return f"{where} has no Li⁺ pair to measure"
    if share == 0 and o.get("broke_at_step") is None:
        return f"{where} holds no Li⁺ pair under {LI_LI_CONTACT_A:g} Å (closest {closest:.2f} Å)"
    return (
        f"{where} still brings Li⁺ pairs under {LI_LI_CONTACT_A:g} Å in {share:.0%} of its "
        f"frames (closest {closest:.2f} Å): the loop has not removed the contacts yet"
    )


def calibration_table(iterations: list[dict[str, Any]]) -> Table:
    """Per iteration: the exploring committee against its new labels (audits included; how
    many of them the training's outlier filter then left out): rank correlation and slope
    of σ against the true error, the σ scale the window used, the labelled frames by
    class, and the verdict."""
    table = Table(
        "iteration", "labels (outliers)", "Spearman σ vs error", "slope (error/σ)", "σ scale used",
        "accurate / candidate / failed", "missed", "verdict",
        title="Is the committee's deviation a measure of its error? (fresh labels)",
    )  # fmt: skip
    for it in iterations:
        c = it["metrics"].get("calibration") or {}
        if c.get("status") != "done":
            continue
        classes = c.get("classes") or {}
        why = c.get("uncalibrated_because")
        # new labels the training's outlier filter left out (selected past any use)
        outliers = it["metrics"].get("evaluation", {}).get("new_labels_excluded_as_outliers")
        table.add_row(
            str(it["index"]),
            f"{c.get('frames', '')} ({'–' if outliers is None else outliers})",
            _number(c.get("rank_correlation"), 2),
            _number(c.get("slope"), 2),
            _number(c.get("sigma_scale"), 2),
            " / ".join(str(classes.get(k, "–")) for k in ("accurate", "candidate", "failed")),
            f"{c.get('missed', 0)} of {c.get('failed_truth', 0)} truly failed",
            "calibrated" if why is None and "uncalibrated_because" in c else (why or "–"),
        )
    return table
