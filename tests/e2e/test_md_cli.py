"""`wise-al md` as a user runs it: a run killed with SIGKILL resumes into one trajectory."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from ase import Atoms
from ase.io import read, write

from tests.support.cli import WISE_AL, Cli
from wise_al.systems.cells import pack_cell

pytestmark = [pytest.mark.slow, pytest.mark.processes]

RUN = ("--steps", "300", "--save-every", "10", "--checkpoint-every", "50", "--device", "cpu")


@pytest.fixture()
def cli() -> Cli:
    return Cli(dict(os.environ))


@pytest.fixture()
def water(tmp_path: Path) -> Path:
    path = tmp_path / "water.extxyz"
    write(path, pack_cell({"H2O": 16}, density_g_per_cm3=1.0, seed=0))
    return path


def _frames_in(trajectory: Path) -> int:
    return trajectory.read_text().count("Lattice=") if trajectory.exists() else 0


def test_a_killed_run_resumes_into_the_uninterrupted_trajectory(
    cli: Cli, tiny_committee_paths: list[Path], water: Path, tmp_path: Path
) -> None:
    models = [arg for p in tiny_committee_paths for arg in ("--model", str(p))]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    done = cli.json("md", *models, "--start", str(water), "-o", str(whole), *RUN)
    assert (done["frames"], done["steps_done"], done["resumed_from_step"]) == (31, 300, None)

    command = [*WISE_AL, "md", *models, "--start", str(water), "-o", str(killed), *RUN, "--json"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # kill past a checkpoint, with frames written after it (they must not appear twice)
    while not (
        (killed / "checkpoint.npz").exists() and _frames_in(killed / "trajectory.extxyz") >= 14
    ):
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    cut_at = _frames_in(killed / "trajectory.extxyz")
    assert 14 <= cut_at < 31

    resumed = cli.json("md", *models, "-o", str(killed), *RUN)  # the start is kept in the run
    assert resumed["resumed_from_step"] in range(50, 300, 50) and resumed["frames"] == 31
    frames = read(killed / "trajectory.extxyz", ":")
    assert [f.info["step"] for f in frames] == list(range(0, 301, 10))  # every frame once
    # deterministic integrator + exact state: the very same trajectory, byte for byte
    assert (killed / "trajectory.extxyz").read_bytes() == (whole / "trajectory.extxyz").read_bytes()


def test_bad_runs_are_refused_in_one_line_and_change_nothing(
    cli: Cli, tiny_committee_paths: list[Path], water: Path, tmp_path: Path
) -> None:
    model = ("--model", str(tiny_committee_paths[0]))
    out = tmp_path / "run"
    assert "ensemble" in cli.fails(
        "md", *model, "--start", str(water), "-o", str(out), "--ensemble", "NVE"
    )
    assert "give a start" in cli.fails("md", *model, "-o", str(out))
    two = cli.fails("md", *model, "--start", str(water), "--cell", "p16_w42", "-o", str(out))
    assert "give one start" in two
    assert "unknown cell" in cli.fails("md", *model, "--cell", "p99", "-o", str(out))
    assert "not a MACE model" in cli.fails(
        "md", "--model", str(water), "--start", str(water), "-o", str(out), "--steps", "20"
    )
    short = ("--steps", "20", "--save-every", "10", "--checkpoint-every", "10", "--device", "cpu")
    cli.json("md", *model, "--start", str(water), "-o", str(out), *short)
    before = (out / "trajectory.extxyz").read_bytes()
    hotter = cli.fails("md", *model, "-o", str(out), *short, "--temperature-K", "500")
    assert "temperature_K differ" in hotter
    moved = read(water)
    assert isinstance(moved, Atoms)
    moved.positions[0, 0] += 0.1
    write(tmp_path / "moved.extxyz", moved)
    other = cli.fails(
        "md", *model, "--start", str(tmp_path / "moved.extxyz"), "-o", str(out), *short
    )
    assert "another start" in other
    assert (out / "trajectory.extxyz").read_bytes() == before
    # the same --start given again continues the run (compared with the kept copy)
    longer = ("--steps", "30", *short[2:])
    extended = cli.json("md", *model, "--start", str(water), "-o", str(out), *longer)
    assert (extended["resumed_from_step"], extended["frames"]) == (20, 4)
