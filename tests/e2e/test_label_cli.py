"""`wise-al label` as a user runs it: real CP2K (xTB), files in and out."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from ase.io import read, write

from tests.support.cp2k_fixtures import li_water, needs_cp2k, wrapper

pytestmark = [needs_cp2k, pytest.mark.slow]
EXAMPLE = Path(__file__).parents[2] / "examples" / "demo.yaml"


def run(home: Path, *args: str, binary: str = "cp2k") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WISE_AL_HOME": str(home), "WISE_AL_CP2K_BINARY": binary}
    command = [sys.executable, "-m", "wise_al", "label", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_labels_are_written_with_provenance_and_failures_are_left_out(tmp_path: Path) -> None:
    overlapping = li_water(1)
    overlapping.positions[2] = overlapping.positions[1] + [0.2, 0.0, 0.0]
    frames = [li_water(0), li_water(1), overlapping, li_water(2)]
    write(tmp_path / "frames.extxyz", frames)
    out = tmp_path / "labelled.extxyz"
    result = run(tmp_path / "home", str(tmp_path / "frames.extxyz"), "-o", str(out))
    assert result.returncode == 3, result.stderr  # some frames got no label
    assert "3 of 4 frames labelled" in result.stdout
    labelled = read(out, ":")
    assert [len(a) for a in labelled] == [13, 10, 13]
    for atoms, source in zip(labelled, [frames[0], frames[1], frames[3]], strict=True):
        np.testing.assert_allclose(atoms.positions, source.positions)
        assert atoms.info["REF_energy"] < 0
        assert atoms.arrays["REF_forces"].shape == (len(atoms), 3)
        assert np.asarray(atoms.info["REF_stress"]).shape == (9,)
        assert len(atoms.info["REF_level_sha256"]) == 64
    sidecar = json.loads((tmp_path / "labelled.extxyz.labels.json").read_text())
    assert sidecar["summary"]["failed"] == {"invalid_structure": 1}
    assert "0.200 Å apart" in sidecar["frames"][2]["detail"]
    (level,) = sidecar["summary"]["levels_of_theory"].values()
    assert level["method"] == "GFN1-xTB" and level["code_version"] == "2023.1"


def test_a_malicious_override_is_refused_and_cp2k_never_starts(tmp_path: Path) -> None:
    marker = tmp_path / "cp2k-started"
    spy = wrapper(tmp_path, "spy-cp2k", f'touch {marker}; exec CP2K "$@"')
    write(tmp_path / "frames.extxyz", [li_water(0)])
    spec = yaml.safe_load(EXAMPLE.read_text())
    for override in (
        {"@INCLUDE": "/etc/passwd"},
        {"force_eval": {"dft": {"scf": {"print": {"restart": {"filename": "/etc/passwd"}}}}}},
    ):
        spec["labelling"]["cp2k_overrides"] = override
        (tmp_path / "evil.yaml").write_text(yaml.safe_dump(spec))
        result = run(
            tmp_path / "home",
            str(tmp_path / "frames.extxyz"),
            "--spec",
            str(tmp_path / "evil.yaml"),
            "-o",
            str(tmp_path / "out.extxyz"),
            binary=str(spy),
        )
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1
        assert "cp2k_overrides" in result.stderr
    assert not marker.exists()
    assert not (tmp_path / "out.extxyz").exists()


def test_bad_options_get_one_line_naming_the_field(tmp_path: Path) -> None:
    write(tmp_path / "frames.extxyz", [li_water(0)])
    frames, out = str(tmp_path / "frames.extxyz"), str(tmp_path / "out.extxyz")
    cases = [
        (("--functional", "B3LYP"), "labelling.functional"),
        (("--functional", "r2SCAN", "--dispersion", "d3"), "r2SCAN takes D3BJ"),
        (("--method", "xtb", "--dispersion", "d3"), "dispersion apply to method 'dft' only"),
    ]
    for options, expected in cases:
        result = run(tmp_path / "home", frames, *options, "-o", out)
        assert result.returncode == 1, result.stdout
        assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    missing = run(tmp_path / "home", str(tmp_path / "nope.xyz"), "-o", out)
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert not Path(out).exists()


def _converge(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WISE_AL_HOME": str(home)}
    command = [sys.executable, "-m", "wise_al", "converge-cutoff", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_a_cutoff_scan_reports_the_change_per_step(tmp_path: Path) -> None:
    water = li_water(1, side_A=6.0)  # Li+ and 3 waters, periodic: stress too
    write(tmp_path / "frame.extxyz", water)
    done = _converge(tmp_path / "home", str(tmp_path / "frame.extxyz"), "--cutoffs", "250,200",
                     "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)
    assert [s["cutoff_Ry"] for s in steps] == [200.0, 250.0]  # sorted
    assert steps[0]["delta_energy_meV_per_atom"] is None
    for before, step in itertools.pairwise(steps):
        change = 1000 * (step["energy_eV_per_atom"] - before["energy_eV_per_atom"])
        assert step["delta_energy_meV_per_atom"] == change != 0
        assert step["max_delta_force_meV_per_A"] > 0 and step["max_delta_stress_GPa"] > 0
    table = _converge(tmp_path / "home", str(tmp_path / "frame.extxyz"), "--cutoffs", "200,250")
    assert table.returncode == 0 and "PBE REL_CUTOFF 60 Ry" in table.stdout and "ΔE" in table.stdout
    refused = _converge(tmp_path / "home", str(tmp_path / "frame.extxyz"), "--cutoffs", "300")
    assert refused.returncode == 1 and "at least two cutoffs" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
