"""`wise-al observe` on trajectory files, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from tests.support.factories import jiggled_frames
from wise_al.observables.coordination import li_o_coordination
from wise_al.observables.density import density_g_per_cm3
from wise_al.systems.cells import build_benchmark_cell

WISE_AL = [sys.executable, "-m", "wise_al"]
REQUIRED = {
    "density_g_per_cm3",
    "cn_li_o_water",
    "cn_li_o_tfsi",
    "cn_li_o_total",
    "sq_q_per_A",
    "sq",
    "sq_r_factor",
    "sq_first_peak_per_A",
    "li_li_contact_fraction",
    "diffusion_A2_per_ps",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WISE_AL, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trajectory(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Atoms]]:
    """A packed p16_w42 cell jiggled into 12 frames (a stand-in for an MD run)."""
    frames = jiggled_frames(build_benchmark_cell("p16_w42", seed=2), 12, 0.02)
    path = tmp_path_factory.mktemp("observe") / "run.extxyz"
    write(path, frames)
    return path, frames


def test_observe_reports_every_observable_as_json(trajectory: tuple[Path, list[Atoms]]) -> None:
    path, frames = trajectory
    result = run("observe", str(path), "--json", "--frame-interval-fs", "10")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= REQUIRED
    assert report["frames"] == 12 and report["atoms"] == 382
    assert report["density_g_per_cm3"] == pytest.approx(density_g_per_cm3(frames[0]), rel=1e-6)
    cn = li_o_coordination(frames)
    assert report["cn_li_o_total"] == pytest.approx(cn.total)
    assert report["cn_li_o_water"] + report["cn_li_o_tfsi"] <= report["cn_li_o_total"] + 1e-9
    assert len(report["sq"]) == len(report["sq_q_per_A"]) == 625
    assert 0 < report["sq_r_factor"] < 1
    assert set(report["diffusion_A2_per_ps"]) == {"Li+", "H2O", "TFSI-"}
    assert report["time_ps"][:2] == [0.0, 0.01] and len(report["density_series_g_per_cm3"]) == 12
    # the running average ends at the run's mean: the convergence plot ends on the value
    assert report["cn_li_o_running"]["total"][-1] == pytest.approx(cn.total, abs=1e-4)
    assert len(report["cn_li_o_running"]["water"]) == 12
    # g(r) normalisation, independently: 4 pi rho_b sum g r^2 dr to the cutoff is the CN
    rdf = report["rdf"]
    r = np.asarray(rdf["r_A"])
    assert r.max() < 6.0 and len(rdf["li_o_water"]) == len(rdf["li_li"]) == len(r)
    lo, hi = r - 0.01, r + 0.01
    shells = 4 / 3 * np.pi * (hi**3 - lo**3)
    waters = 42  # p16_w42: one water O per molecule
    rho_water_o = waters / frames[0].get_volume()
    running = np.cumsum(np.asarray(rdf["li_o_water"]) * shells * rho_water_o)
    below, above = running[hi <= 2.83 + 1e-9][-1], running[lo < 2.83][-1]
    assert below - 1e-3 <= report["cn_li_o_water"] <= above + 1e-3


def test_observe_prints_a_table_beside_experiment_and_plots(
    trajectory: tuple[Path, list[Atoms]], tmp_path: Path
) -> None:
    result = run("observe", str(trajectory[0]), "--every", "3", "--plot", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr
    assert "4 frames of 382 atoms" in result.stdout
    assert "1.7126" in result.stdout and "R-factor" in result.stdout and "4.21" in result.stdout
    figures = {p.name for p in (tmp_path / "figs").iterdir()}
    assert figures == {"sq.html", "rdf.html", "density.html", "convergence.html", "plotly.min.js"}
    sq = (tmp_path / "figs" / "sq.html").read_text()
    assert 'src="plotly.min.js"' in sq and "experiment (Zhang 2021)" in sq and "R = " in sq


def test_bad_trajectories_get_one_line_and_exit_1(tmp_path: Path) -> None:
    missing = run("observe", str(tmp_path / "nope.extxyz"))
    assert missing.returncode == 1 and missing.stderr.strip().endswith("no such file")
    molecule = tmp_path / "open.extxyz"
    write(molecule, Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]))
    open_cell = run("observe", str(molecule))
    assert open_cell.returncode == 1
    assert len(open_cell.stderr.strip().splitlines()) == 1 and "periodic" in open_cell.stderr
    even = run("observe", str(molecule), "--sq-window", "10")
    assert even.returncode == 1 and "odd" in even.stderr
