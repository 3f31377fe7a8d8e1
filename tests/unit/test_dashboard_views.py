"""What the dashboard draws, computed from rows without a browser or a database."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from ase import Atoms

from services.api.dashboard.views import (
    histogram_figure,
    ratios_figure,
    timeline_figure,
    viewer_data,
)
from wise_al.db.models import Frame, FrameFlag, FrameStatus, Iteration
from wise_al.db.repositories.overview import IterationSummary, UnitSpan
from wise_al.systems.structures import structure_to_dict
from wise_al.uncertainty import DEVIATION_BIN_EDGES_EV_PER_A, deviation_histogram, frame_deviation


def test_deviation_histogram_counts_every_frame_in_its_bin() -> None:
    edges = np.asarray(DEVIATION_BIN_EDGES_EV_PER_A)
    counts = deviation_histogram([0.1, 0.1, 0.25, 1e-9, 1e6])
    assert sum(counts) == 5
    assert counts[0] == 1 and counts[-1] == 1  # out of range values are clipped, not lost
    k = int(np.searchsorted(edges, 0.25, side="right")) - 1
    assert counts[k] == 1 and edges[k] <= 0.25 < edges[k + 1]


def test_frame_deviation_keeps_each_members_energy() -> None:
    forces = np.zeros((3, 4, 3))
    forces[1, 0, 0] = 0.3
    deviation = frame_deviation([-10.0, -10.5, -9.5], forces)
    assert deviation.member_energies_eV == (-10.0, -10.5, -9.5)
    assert deviation.energy_std_eV_per_atom == pytest.approx(np.std([-10, -10.5, -9.5]) / 4)


def _frame(atoms: Atoms, flags: list[FrameFlag]) -> Frame:
    frame = Frame(
        md_step=10,
        status=FrameStatus.SELECTED,
        n_atoms=len(atoms),
        structure=structure_to_dict(atoms),
        atom_deviations_eV_per_A=[0.1] * len(atoms),
    )
    frame.flags = flags
    return frame


def _flag(atoms: tuple[int, int], value: float) -> FrameFlag:
    return FrameFlag(kind="min_distance", atoms=list(atoms), value=value, threshold=9.5, message="")


def test_a_contact_across_the_cell_boundary_is_drawn_to_the_image_the_flag_measured() -> None:
    atoms = Atoms("Li2", positions=[[0.5, 5, 5], [9.5, 5, 5]], cell=[10, 10, 10], pbc=True)
    near, far = _flag((0, 1), 1.0), _flag((0, 1), 9.0)
    data = viewer_data(_frame(atoms, [near, far]), [near, far])
    assert data["flagged"] == [0, 1]
    assert [c["label"] for c in data["contacts"]] == ["Li–Li 1.00 Å", "Li–Li 9.00 Å"]
    assert np.allclose(data["contacts"][0]["to"], [-0.5, 5, 5])  # through the boundary
    assert np.allclose(data["contacts"][1]["to"], [9.5, 5, 5])  # inside the cell
    assert np.allclose(data["cell"], np.eye(3) * 10)


def _summary(index: int, counts: dict[str, int], histogram: list[int] | None) -> IterationSummary:
    iteration = Iteration(index=index, metrics={"exploration": counts})
    return IterationSummary(iteration, histogram=histogram)


def test_ratios_are_shares_of_judged_frames() -> None:
    figure = ratios_figure(
        [_summary(0, {}, None), _summary(1, {"accurate": 6, "candidate": 3, "failed": 1}, None)]
    )
    shares = {trace["name"]: trace["y"] for trace in figure["data"]}
    assert shares == {"accurate": [None, 0.6], "candidate": [None, 0.3], "failed": [None, 0.1]}


def test_the_histogram_shades_the_trust_window_and_skips_unjudged_iterations() -> None:
    bins = len(DEVIATION_BIN_EDGES_EV_PER_A) - 1
    figure = histogram_figure([_summary(0, {}, None), _summary(1, {}, [1] * bins)], 0.05, 0.3)
    assert [trace["name"] for trace in figure["data"]] == ["iteration 1"]
    (window,) = figure["layout"]["shapes"]
    assert (window["x0"], window["x1"]) == (0.05, 0.3)
    assert figure["layout"]["xaxis"]["type"] == "log"


def test_the_timeline_marks_running_and_failed_units() -> None:
    start = datetime(2026, 1, 1, 12, 0, 0)
    spans = [
        UnitSpan(0, "explore", start, start + timedelta(seconds=30), 2, 0),
        UnitSpan(0, "label", start + timedelta(seconds=30), None, 8, 1),
    ]
    (trace,) = timeline_figure(spans)["data"]
    assert trace["y"] == ["iteration 0 · explore", "iteration 0 · label"]
    assert trace["x"][0] == pytest.approx(30_000)
    assert trace["text"][0] == "2 units, 30 s"
    assert "1 failed" in trace["text"][1] and "running" in trace["text"][1]


def test_validation_trend_and_coordination_rows_come_from_the_stored_observables() -> None:
    from services.api.dashboard.validation import coordination_rows, trend_figure
    from wise_al.db.models import Validation

    def validation(index: int, contacts: float, d_li: float | None) -> Validation:
        diffusion = None if d_li is None else {"Li+": {"d": d_li, "stderr": None}}
        observables = {
            "li_li_contact_fraction": contacts,
            "diffusion_A2_per_ps": diffusion,
            "cn_li_o_water": 2.1,
            "cn_li_o_tfsi": 1.8,
            "cn_li_o_total": 4.0,
        }
        return Validation(iteration_index=index, observables=observables)

    rows = [validation(0, 0.5, 0.02), validation(1, 0.1, None), validation(3, 0.0, 0.03)]
    figure = trend_figure(rows)
    contacts, water, lithium, tfsi = figure["data"]
    assert tfsi["name"].startswith("D TFSI-")
    assert contacts["x"] == [0, 1, 3] and contacts["y"] == [0.5, 0.1, 0.0]
    assert lithium["name"].startswith("D Li+") and lithium["y"] == [0.02, None, 0.03]
    assert water["y"] == [None, None, None] and lithium["yaxis"] == "y2"
    table = coordination_rows(rows[0])
    assert [(r["oxygen"], r["this"], r["experiment"]) for r in table] == [
        ("water O", 2.1, "1.93"),
        ("TFSI O", 1.8, "2.28"),
        ("total", 4.0, "4.21"),
    ]
    assert table[0]["mace"] == "2.35–2.39"
