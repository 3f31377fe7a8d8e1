"""Files that appear whole or not at all (write to a temporary name, then rename).

Several workers share the artifact store; a reader must never see half a file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ase import Atoms
from ase.io import read

from wise_al.systems.structures import extxyz_text


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a rename in the same directory."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)


def write_text_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a rename in the same directory."""
    write_bytes_atomic(target, text.encode())


def write_structure_atomic(target: Path, atoms: Atoms) -> Atoms:
    """Write ``atoms`` as extxyz through a rename, and return them as read back.

    Callers use what was written (8 decimals), not what they held: a run resumed from the
    file then sees the very digits, and hashes of the start agree.
    """
    write_text_atomic(target, extxyz_text(atoms))
    kept = read(target)
    assert isinstance(kept, Atoms)
    return kept


def copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a rename in the target's directory."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
