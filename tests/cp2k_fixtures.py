"""Frames and CP2K wrappers shared by the CP2K tests (tests only)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from ase import Atoms
from ase.io import read

from tests.mace_models import DATA

needs_cp2k = pytest.mark.skipif(shutil.which("cp2k") is None, reason="CP2K is not installed")


def li_water(index: int = 0, side_A: float | None = None) -> Atoms:
    """A recorded Li+ water cluster, periodic, optionally re-boxed and centred."""
    atoms = read(DATA, index)
    assert isinstance(atoms, Atoms)
    if side_A is not None:
        atoms.cell = [side_A] * 3
        atoms.center()
    atoms.pbc = True
    return atoms


def wrapper(directory: Path, name: str, body: str) -> Path:
    """An executable that stands in for ``cp2k``: ``--version``/``--xml`` reach the real one.

    ``body`` is the shell run for a calculation; ``"$@"`` holds CP2K's arguments.
    """
    real = shutil.which("cp2k")
    script = directory / name
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in --version|--xml) exec {real} "$@";; esac\n'
        f"{body.replace('CP2K', str(real))}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script
