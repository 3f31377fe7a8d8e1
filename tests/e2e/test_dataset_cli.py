"""`wise-al dataset check` as a user runs it: real CP2K confirms (or refutes) a level."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from ase.io import read, write

from tests.support.cli import Cli
from tests.support.cp2k_fixtures import needs_cp2k

pytestmark = [needs_cp2k, pytest.mark.slow]


def _cli(home: Path) -> Cli:
    return Cli({**os.environ, "WISE_AL_HOME": str(home)})


def test_a_declared_level_is_confirmed_by_cp2k_and_a_wrong_one_refuted(
    demo_home: Path, tmp_path: Path
) -> None:
    data = demo_home / "models" / "demo-foundation-data.extxyz"
    cli = _cli(tmp_path / "home")
    report = cli.json("dataset", "check", str(data), "--method", "xtb", "--confirm", "2")
    assert report["summary"]["frames"] == 6 and report["level_of_theory"]["method"] == "GFN1-xTB"
    confirmation = report["confirmation"]
    assert confirmation["frames"] == [0, 5]
    assert max(confirmation["energy_diff_meV_per_atom"]) < 1e-3  # the same code and settings
    assert max(confirmation["force_max_diff_eV_per_A"]) < 1e-4
    # the same frames labelled at another level: energies 20 meV/atom off
    frames = read(data, index=":")
    assert isinstance(frames, list)
    for atoms in frames:
        atoms.info["REF_energy"] += 0.02 * len(atoms)
        del atoms.info["REF_level_sha256"]
    shifted = tmp_path / "shifted.extxyz"
    write(shifted, frames, format="extxyz")
    line = cli.fails("dataset", "check", str(shifted), "--method", "xtb", "--confirm", "2")
    assert line.startswith("error: frame 0, REF_energy: differs from CP2K at the declared level")


def test_a_bad_file_fails_with_one_line_naming_frame_and_field(
    demo_home: Path, tmp_path: Path
) -> None:
    frames = read(demo_home / "models" / "demo-foundation-data.extxyz", index=":")
    assert isinstance(frames, list)
    for atoms in frames:
        del atoms.info["REF_level_sha256"]  # labels from elsewhere: VASP, say
    frames[2].arrays["REF_forces"][0, 0] = np.nan
    bad = tmp_path / "bad.extxyz"
    write(bad, frames, format="extxyz")
    level = tmp_path / "level.json"
    level.write_text(json.dumps({"code": "VASP", "method": "r2SCAN AIMD"}))
    line = _cli(tmp_path / "home").fails("dataset", "check", str(bad), "--level-json", str(level))
    assert line == "error: frame 2, REF_forces: atom 0 is not finite (NaN or infinity)"
    missing = _cli(tmp_path / "home").fails("dataset", "check", str(bad))
    assert "needs its level of theory" in missing
