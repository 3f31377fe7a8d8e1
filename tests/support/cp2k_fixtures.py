"""Frames and CP2K wrappers shared by the CP2K tests (tests only)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from ase import Atoms
from ase.io import read

from tests.support.mace_models import DATA

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


def fake_installation(directory: Path, version: str = "2023.1", build: str = "b" * 16) -> Any:
    """A :class:`Cp2kInstallation` record whose data files are small files of our own.

    For level-of-theory records without running CP2K: the binary is never called.
    """
    from wise_al.cp2k.installation import Cp2kInstallation
    from wise_al.cp2k.level import BASIS_FILES, POTENTIALS, XTB_FILES

    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    names = {*BASIS_FILES, *XTB_FILES, *(file for _, file in POTENTIALS.values())}
    for name in names:
        if not (data / name).exists():
            (data / name).write_text(f"{name} contents\n")
    return Cp2kInstallation(
        binary=Path("/nonexistent/cp2k"),
        version=version,
        flags=frozenset(),
        data_dir=data,
        xml_spec=directory / "cp2k_input.xml",
        build=build,
    )
