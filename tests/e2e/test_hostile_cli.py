"""Hostile files and paths given to the `wise-al` command: one line, exit 1, nothing stored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.test_cli import cli  # noqa: F401  (the server fixture, reused)
from tests.support.cli import Cli
from tests.support.factories import example_spec
from tests.support.hostile_uploads import CASES


@pytest.fixture
def offline(tmp_path: Path) -> Cli:
    env = {**os.environ, "WISE_AL_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    env.pop("WISE_AL_DATABASE_URL", None)
    return Cli(env)


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "spec.fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d, "a directory"),
        (lambda d: Path("/dev/zero"), "not a regular file"),
        (_fifo, "not a regular file"),
        (lambda d: _write(d / "spec.bin", bytes(range(256)) * 4), "binary file"),
        (lambda d: _write(d / "u16.yaml", "name: x\n".encode("utf-16")), "UTF-16"),
        (lambda d: _write(d / "latin1.yaml", "name: caf\xe9\n".encode("latin-1")), "not UTF-8"),
        (lambda d: _write(d / "huge.yaml", b"#" * 2_000_000), "larger than the 1048576 bytes"),
    ],
    ids=["directory", "dev-zero", "fifo", "binary", "utf16", "latin1", "huge"],
)
def test_a_file_that_is_not_a_spec_is_one_line(
    offline: Cli, tmp_path: Path, make, expected: str
) -> None:
    path = make(tmp_path)
    assert expected in offline.fails("spec", "validate", str(path))  # a FIFO would hang: timeout


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_spec_of_fifty_thousand_unknown_keys_is_refused_in_one_short_line(
    offline: Cli, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("name: x\n" + "".join(f"k{i}: {i}\n" for i in range(50_000)))
    assert bomb.stat().st_size < 1_048_576
    line = offline.fails("spec", "validate", str(bomb))
    assert "more than 20000 values" in line and len(line) < 300


def test_serve_on_an_unmigrated_home_says_so_in_one_line(offline: Cli) -> None:
    line = offline.fails("serve", "--port", "1")
    assert "run `wise-al db upgrade`" in line


def test_an_unwritable_output_path_is_one_line_and_the_study_is_kept(
    cli: tuple[Cli, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    run, _ = cli
    study = tmp_path / "study.json"
    study.write_text(
        json.dumps({"name": "paper", "base": example_spec(), "variants": {"a": {}, "b": {}}})
    )
    study_id = str(run.json("study", "submit", str(study))["id"])
    for target, reason in [
        (tmp_path / "missing-dir" / "x.csv", "No such file or directory"),
        (tmp_path, "Is a directory"),
        (Path("/proc/wise-al.csv"), ""),
    ]:
        line = run.fails("study", "csv", study_id, "-o", str(target))
        assert str(target) in line and reason in line
    assert "variant" in run.run("study", "csv", study_id).stdout  # the study is still there


@pytest.mark.parametrize(
    "name", ["thin-cell", "1e12-atoms", "24-digit-int", "z-5000", "2MB-symbol"]
)
def test_dataset_check_refuses_a_hostile_file_in_one_short_line(
    offline: Cli, tmp_path: Path, name: str
) -> None:
    path = _write(tmp_path / "hostile.extxyz", CASES[name].file())
    line = offline.fails("dataset", "check", str(path), "--kind", "structures")
    assert line.startswith("error: frame 0, ") and len(line) < 1100, line


def test_dataset_check_of_a_fifo_or_a_device_is_one_line(offline: Cli, tmp_path: Path) -> None:
    for path in (_fifo(tmp_path), Path("/dev/zero")):  # a read would block or never end
        assert "not a regular file" in offline.fails(
            "dataset", "check", str(path), "--kind", "structures"
        )
