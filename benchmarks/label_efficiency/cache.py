"""Stage results kept on disk, so an interrupted benchmark resumes where it stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.io import read, write


def frames(path: Path, make: Callable[[], list[Atoms]]) -> list[Atoms]:
    """The frames stored at ``path``, or ``make()``'s, stored there first (atomically)."""
    if not path.is_file():
        made = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        if made:
            write(partial, made, format="extxyz")
        else:
            partial.write_text("")
        os.replace(partial, path)
    loaded = read(path, index=":", format="extxyz") if path.stat().st_size else []
    assert isinstance(loaded, list)
    return loaded


def record(path: Path, make: Callable[[], Any]) -> Any:
    """The JSON stored at ``path``, or ``make()``'s, stored there first (atomically)."""
    if not path.is_file():
        made = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(made, indent=1))
        os.replace(partial, path)
    return json.loads(path.read_text())
