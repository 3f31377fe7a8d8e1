"""`wise-al build`, `flags` and `deviation` as a user runs them on files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from ase.io import write

from tests.support.mace_models import DATA
from wise_al.cli.explore import read_frames
from wise_al.mace.committee import Committee
from wise_al.uncertainty import frame_deviation

WISE_AL = [sys.executable, "-m", "wise_al"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WISE_AL, *args], capture_output=True, text=True, timeout=300)


def test_build_then_flags_a_clean_cell_and_a_broken_one(tmp_path: Path) -> None:
    cell = tmp_path / "cell.extxyz"
    built = run("build", "--pairs", "2", "--seed", "4", "-o", str(cell))
    assert built.returncode == 0, built.stderr
    assert "47 atoms" in built.stdout
    atoms = read_frames(cell)[0]
    li = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Li"]
    broken = atoms.copy()
    broken.positions[li[1]] = broken.positions[li[0]] + [2.0, 0, 0]
    trajectory = tmp_path / "traj.extxyz"
    write(trajectory, [atoms, broken])
    result = run("flags", str(trajectory), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report[0] == {"frame": 0, "flags": []}
    li_li = [f for f in report[1]["flags"] if sorted(f["atoms"]) == sorted(li)]
    assert li_li and li_li[0]["kind"] == "min_distance" and li_li[0]["value"] == 2.0


def test_deviation_matches_the_committee(tmp_path: Path, tiny_committee_paths: list[Path]) -> None:
    frames = tmp_path / "frames.extxyz"
    write(frames, read_frames(DATA)[:5])
    models = [arg for path in tiny_committee_paths for arg in ("--models", str(path))]
    result = run(
        "deviation", str(frames), *models, "--device", "cpu", "--batch-size", "2", "--json"
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["frame"] for r in rows] == list(range(5))
    prediction = Committee(tiny_committee_paths).predict(read_frames(frames))
    for row in rows:
        k = row["frame"]
        expected = frame_deviation(prediction.energies_eV[:, k], prediction.forces_eV_per_A[k])
        assert np.isclose(row["max_deviation_eV_per_A"], expected.max_eV_per_A, rtol=1e-9)
        assert row["class"] in {"accurate", "candidate", "failed"}


def test_file_errors_are_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.extxyz"
    garbage.write_text("this is not a structure\n")
    for args in (("flags", str(tmp_path / "missing.xyz")), ("flags", str(garbage))):
        result = run(*args)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_explore_writes_an_annotated_trajectory(
    tmp_path: Path, tiny_committee_paths: list[Path]
) -> None:
    start = tmp_path / "start.extxyz"
    write(start, read_frames(DATA)[0])
    out = tmp_path / "traj.extxyz"
    models = [arg for path in tiny_committee_paths for arg in ("--models", str(path))]
    result = run(
        "explore",
        *models,
        "--structure",
        str(start),
        "--steps",
        "40",
        "--save-interval",
        "10",
        "--temperature-K",
        "300",
        "--seed",
        "2",
        "--device",
        "cpu",
        "-o",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    frames = read_frames(out)
    assert summary["frames"] == len(frames) >= 1
    assert sum(summary["classes"].values()) == len(frames)
    assert [f.info["md_step"] for f in frames] == [10 * (k + 1) for k in range(len(frames))]
    assert all("max_deviation_eV_per_A" in f.info for f in frames)
