"""`wise-al validate` as a user runs it: the protocol on the demo foundation, scored, resumed.

Lengths are cut to fractions of a picosecond on a 47-atom cell at the 21 m ratio: the
machinery and the numbers' provenance are what is checked, not the physics of a tiny model.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write

from tests.support.cli import Cli
from wise_al.observables.density import densities_g_per_cm3
from wise_al.observables.scores import EXPERIMENTAL_FIRST_PEAK_PER_A, THRESHOLDS
from wise_al.systems.cells import pack_cell

pytestmark = pytest.mark.slow

SHORT = (
    "--nvt-equilibration-ps", "0.01", "--nvt-production-ps", "0.05", "--nvt-frames", "11",
    "--npt-ps", "0.05", "--npt-discard-ps", "0.02", "--npt-frames", "6", "--device", "cpu",
)  # fmt: skip


@pytest.fixture()
def cli() -> Cli:
    return Cli(dict(os.environ))


@pytest.fixture()
def cell(tmp_path: Path) -> Path:
    path = tmp_path / "cell.extxyz"
    write(path, pack_cell({"LiTFSI": 2, "H2O": 5}, density_g_per_cm3=1.7126, seed=0))
    return path


def test_validate_scores_a_model_and_resumes(
    cli: Cli, demo_home: Path, cell: Path, tmp_path: Path
) -> None:
    model = str(demo_home / "models" / "demo-foundation.model")
    args = (
        "--model",
        model,
        "-o",
        str(tmp_path / "v"),
        "--nvt-cell",
        str(cell),
        "--npt-cell",
        str(cell),
    )
    result = cli.json("validate", *args, *SHORT)
    runs = {k: Path(v) for k, v in result["runs"].items()}
    assert set(runs) == {"nvt_equilibration", "nvt_production", "npt"}
    production = read(runs["nvt_production"] / "trajectory.extxyz", ":")
    assert (
        isinstance(production, list) and len(production) == 11 and production[0].info["step"] == 0
    )
    npt = read(runs["npt"] / "trajectory.extxyz", ":")
    assert isinstance(npt, list)
    kept = [f for f in npt if f.info["time_ps"] >= 0.02]
    # the density is the NPT mean after the discarded time, recomputed from the file
    density = float(np.mean(densities_g_per_cm3(kept)))
    report = result["report"]
    assert report["density_g_per_cm3"] == pytest.approx(density, rel=1e-9)
    # each series on its own run's clock: NPT density (6 frames), NVT coordination (11)
    assert report["density_time_ps"] == [f.info["time_ps"] for f in npt]
    assert report["time_ps"] == pytest.approx([f.info["time_ps"] for f in production])
    assert len(report["cn_li_o_running"]["total"]) == len(report["time_ps"]) == 11
    scores = {s["metric"]: s for s in result["scores"]}
    assert set(scores) == set(THRESHOLDS)
    if report.get("broke_at_step") is not None:
        _check_not_graded(report, scores, production)
    else:
        _check_graded(report, scores, density)
    # the equilibration's last state (velocities included) started the production
    equilibrated = read(runs["nvt_equilibration"] / "trajectory.extxyz", -1)
    assert isinstance(equilibrated, Atoms)
    assert production[0].positions == pytest.approx(equilibrated.positions)
    before = (runs["npt"] / "trajectory.extxyz").read_bytes()
    again = cli.json("validate", *args, *SHORT)  # every run is finished: nothing runs again
    assert again["scores"] == result["scores"]
    assert (runs["npt"] / "trajectory.extxyz").read_bytes() == before
    other = tmp_path / "other.extxyz"
    write(other, pack_cell({"LiTFSI": 2, "H2O": 5}, density_g_per_cm3=1.7126, seed=1))
    moved = (
        "--model",
        model,
        "-o",
        str(tmp_path / "v"),
        "--nvt-cell",
        str(other),
        "--npt-cell",
        str(cell),
    )
    assert "another nvt cell" in cli.fails("validate", *moved, *SHORT)


def test_validate_refuses_bad_protocols_in_one_line(cli: Cli, cell: Path, tmp_path: Path) -> None:
    base = ("--model", str(cell), "-o", str(tmp_path / "v"), "--nvt-cell", str(cell))
    assert "npt_discard_ps" in cli.fails(
        "validate", *base, "--npt-ps", "1", "--npt-discard-ps", "2"
    )
    assert "neither a benchmark cell" in cli.fails("validate", *base, "--npt-cell", "p99")
    assert "timestep_fs" in cli.fails("validate", *base, "--timestep-fs", "0")
    assert not (tmp_path / "v").exists()


def _check_not_graded(
    report: dict[str, Any], scores: dict[str, Any], production: list[Atoms]
) -> None:
    """This model broke a molecule (or fused Li⁺) in the production: nothing is graded, the
    grades say where, and independently the named pair was stretched past 1.5x its starting
    length in that frame, or was two Li⁺ in contact."""
    broke = next(f for f in production if f.info["step"] == report["broke_at_step"])
    reason = report["broke_because"]
    assert {s["grade"] for s in scores.values()} == {"not graded"}
    assert all(f"step {report['broke_at_step']} ({reason})" in s["reason"] for s in scores.values())
    named = [int(n) for n in re.findall(r"\b[A-Z][a-z]? (\d+)", reason)]
    if len(named) < 2:  # a whole-frame flag: the temperature ran away
        assert "temperature" in reason or " K" in reason, reason
        return
    i, j = named[:2]
    length = broke.get_distance(i, j, mic=True)
    assert length / production[0].get_distance(i, j, mic=True) > 1.5 or length < 2.6


def _check_graded(report: dict[str, Any], scores: dict[str, Any], density: float) -> None:
    assert scores["density_error_percent"]["value"] == pytest.approx(
        100 * abs(density / 1.7126 - 1)
    )
    assert scores["cn_li_o_water_error"]["value"] == pytest.approx(
        abs(report["cn_li_o_water"] - 2.4)
    )
    # S(q) is graded only when the cell samples 3 wave vectors below the experimental peak
    sampled = 3 * report["sq_min_q_per_A"] <= EXPERIMENTAL_FIRST_PEAK_PER_A
    assert (scores["sq_r_factor"]["value"] is not None) == sampled
    for s in scores.values():
        if s["value"] is None:
            assert s["grade"] == "not measurable" and "not measurable" in s["reason"]
            continue
        expected = (
            "good" if s["value"] <= s["good"] else "bad" if s["value"] >= s["bad"] else "fair"
        )
        assert s["grade"] == expected
