"""Files that appear whole or not at all (write to a temporary name, then rename).

Several workers share the artifact store; a reader must never see half a file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_text_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a rename in the same directory."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, target)


def copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a rename in the target's directory."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
