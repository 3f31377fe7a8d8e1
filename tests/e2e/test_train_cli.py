"""`wise-al train` and `wise-al models evaluate` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ase.io import read

from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.mace_models import DATA

pytestmark = pytest.mark.slow

E0S = '{"1": -10.923452, "3": -7.270105, "8": -118.342968}'  # GFN1-xTB atoms (CP2K)


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WISE_AL_HOME": str(home)}
    command = [sys.executable, "-m", "wise_al", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_train_then_evaluate_with_a_parity_plot(tmp_path: Path) -> None:
    out = tmp_path / "committee"
    trained = run(
        tmp_path, "train", "--data", str(DATA), "--strategy", "from_scratch",
        "--committee", "2", "--epochs", "3", "--e0s", E0S, "-o", str(out), "--json",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    manifest = json.loads(trained.stdout)
    assert manifest == json.loads((out / "committee.json").read_text())
    assert manifest["e0s_eV"] == {"1": -10.923452, "3": -7.270105, "8": -118.342968}
    # the recorded clusters include 10 with forces above 20 eV/Å: left out, with the reason
    excluded = manifest["dataset"]["excluded"]
    assert len(excluded) == 10 and all("exceeds 20 eV/Å" in e["reason"] for e in excluded)
    assert sum(manifest["dataset"]["counts"].values()) == 30
    model = Path(manifest["members"][0]["file"])
    assert model.is_file()
    plot = tmp_path / "parity.png"
    evaluated = run(
        tmp_path, "models", "evaluate", str(model), "--data", str(DATA), "--plot", str(plot)
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "on 40 frames" in evaluated.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_refuses_what_cannot_work_in_one_line(tmp_path: Path) -> None:
    data = ("--data", str(DATA), "-o", str(tmp_path / "out"))
    cases = [
        (("--strategy", "bogus", "--e0s", E0S), "--strategy 'bogus'"),
        (("--strategy", "fine_tune_naive", "--e0s", E0S), "needs --foundation"),
        (("--strategy", "fine_tune_naive", "--foundation", "nope.model"), "does not exist"),
        (("--strategy", "from_scratch", "--e0s", '{"1": -10.9}'), "lacks element(s) Z=[3, 8]"),
        (("--strategy", "from_scratch"), "say how li_water_xtb.extxyz was labelled"),
    ]
    for options, message in cases:
        result = run(tmp_path, "train", *data, *options)
        assert result.returncode == 1, result.stdout
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@needs_cp2k
def test_a_demo_foundation_is_built_and_fine_tuned_offline(demo_home: Path, tmp_path: Path) -> None:
    # ``demo_home`` is built once per run by `wise-al models build-demo-foundation --frames 6
    # --epochs 2` (tests/conftest.py), which fails the fixture if the command fails
    foundation = demo_home / "models" / "demo-foundation.model"
    replay = demo_home / "models" / "demo-foundation-data.extxyz"
    assert foundation.is_file() and len(read(replay, ":")) == 6
    assert {s for a in read(replay, ":") for s in a.get_chemical_symbols()} == {
        "H", "Li", "C", "N", "O", "F", "S"
    }  # fmt: skip
    # a relative foundation path resolves against WISE_AL_HOME, as in campaign specs
    tuned = run(
        demo_home, "train", "--data", str(DATA), "--strategy", "fine_tune_naive",
        "--foundation", "models/demo-foundation.model", "--committee", "2", "--epochs", "1",
        "--e0s", E0S, "-o", str(tmp_path / "tuned"), "--json",
    )  # fmt: skip
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    assert json.loads(tuned.stdout)["parent"]["file"] == str(foundation)
