"""The demo's summary of what the loop learned: Li⁺ contacts of every validation MD beside
CP2K's MD, and the calibration of every exploring committee, as a person reads them."""

from __future__ import annotations

from typing import Any

from ase import Atoms
from rich.console import Console
from rich.table import Table

from wise_al.cli.learning import calibration_table, contacts_table, contacts_verdict


def _text(table: Table) -> str:
    console = Console(width=250, record=True, no_color=True)
    console.print(table)
    return console.export_text()


def _validation(index: int, closest: float, share: float, broke: int | None) -> dict[str, Any]:
    observables = {"li_li_closest_A": closest, "li_li_mean_closest_A": closest + 1.0}
    observables |= {"li_li_contact_fraction": share}
    if broke is not None:
        observables["broke_at_step"] = broke
    return {"iteration_index": index, "status": "done", "observables": observables}


ITERATIONS = [
    {"index": 0, "metrics": {"evaluation": {"external_forces_rmse_meV_per_A": 348.0}}},
    {"index": 1, "metrics": {"evaluation": {"external_forces_rmse_meV_per_A": 212.0}}},
]


def test_contacts_sit_beside_cp2k_and_the_verdict_reads_the_last_run() -> None:
    fused = [_validation(0, 0.45, 0.9, 160)]
    healed = [*fused, _validation(1, 3.9, 0.0, None)]
    # CP2K's MD: two frames with the pair 5.1 and 5.3 Å apart (across the boundary once)
    reference = [
        Atoms("Li2", positions=[[1, 5, 5], [1 + d, 5, 5]], cell=[12] * 3, pbc=True)
        for d in (5.1, 12 - 5.3)
    ]
    text = _text(contacts_table(ITERATIONS, healed, reference))
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert "0.45" in rows["0"] and "broke at step 160" in rows["0"] and "348" in rows["0"]
    assert "3.90" in rows["1"] and "intact" in rows["1"] and "212" in rows["1"]
    assert "5.10" in rows["CP2K MD"] and "5.20" in rows["CP2K MD"]  # closest, mean closest
    assert contacts_verdict(healed) == (
        "iteration 1's validation MD holds no Li⁺ pair under 2.6 Å (closest 3.90 Å)"
    )
    assert "has not removed the contacts yet" in contacts_verdict(fused)
    assert "90% of its frames" in contacts_verdict(fused)
    assert contacts_verdict([]) == "no validation MD finished: Li⁺ contacts not measured"


def test_calibration_rows_show_scale_classes_and_verdict() -> None:
    calibration = {
        "status": "done",
        "frames": 8,
        "rank_correlation": 0.46,
        "slope": 3.72,
        "sigma_scale": 1.0,
        "classes": {"accurate": 2, "candidate": 5, "failed": 1},
        "missed": 1,
        "failed_truth": 3,
        "uncalibrated_because": "its deviation is off the error's scale (slope 3.72, ...)",
    }
    evaluation = {"new_labels_excluded_as_outliers": 1}
    metrics = {"calibration": calibration, "evaluation": evaluation}
    iterations = [{"index": 0, "metrics": {}}, {"index": 1, "metrics": metrics}]
    text = _text(calibration_table(iterations))
    row = next(line for line in text.splitlines() if line.startswith("│ 1"))
    shown_all = ("8 (1)", "0.46", "3.72", "2 / 5 / 1", "1 of 3 truly failed", "off the error's")
    for shown in shown_all:
        assert shown in row, shown
    assert not any(line.startswith("│ 0") for line in text.splitlines())  # nothing to show
