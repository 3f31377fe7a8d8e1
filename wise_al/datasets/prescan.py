"""Bound an extxyz file before any parser reads it: one streaming pass over its lines.

ASE's reader trusts a frame's header: an atom count of 10¹² makes it read forever, a
property ``REF_forces:R:100000000`` allocates gigabytes, and a periodic cell far thinner
than an atom sends a neighbour list into billions of periodic images. This pass reads
each line with a length limit and refuses, naming the frame and the field:

- more than :data:`MAX_FRAMES` frames, or more than :data:`MAX_ATOMS_PER_FRAME` atoms;
- a comment line without ``Properties`` columns ASE can read (type ``S``, ``R``, ``I``
  or ``L``, at most :data:`MAX_COLUMNS` per atom), ``species``/``pos`` in other shapes,
  or an atom line whose number of fields is not the columns';
- a cell that is not finite, is degenerate, is thinner than :data:`MIN_DISTANCE_A` in a
  periodic direction (every atom would overlap its own image) or longer than
  :data:`MAX_LENGTH_A`.

Its memory is one line; its time is linear in the file, and it stops at the first problem.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import BinaryIO

import numpy as np
from ase import Atoms

from wise_al.datasets.rejected import DatasetRejected
from wise_al.observables.rdf import cell_heights_A

MAX_FRAMES = 200_000
MAX_ATOMS_PER_FRAME = 100_000
#: Longest line read: a comment line with a cell, a stress and a few keys is < 1 kB.
MAX_LINE_BYTES = 65_536
#: Per-atom columns (species 1, pos 3, forces 3, ...): real files have under 20.
MAX_COLUMNS = 64
#: Closest two atoms of an accepted frame may be; a periodic cell thinner than this puts
#: every atom that close to its own image.
MIN_DISTANCE_A = 0.5
#: Longest cell vector or position coordinate (Å): 10 µm is no atomistic cell.
MAX_LENGTH_A = 1e5
#: Columns read by wise-al, and the type and width each must have.
READ_COLUMNS = {"species": ("S", 1), "pos": ("R", 3), "Z": ("I", 1), "REF_forces": ("R", 3)}

_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _line(handle: BinaryIO, frame: int, field: str) -> bytes:
    line = handle.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise DatasetRejected(frame, field, f"a line longer than {MAX_LINE_BYTES} bytes")
    return line


def _atom_count(line: bytes, frame: int) -> int:
    text = line.strip()
    if not text.isdigit() or len(text) > 9:
        shown = text[:20].decode("utf-8", "replace")
        raise DatasetRejected(frame, "atom count", f"{shown!r} is not a count of atoms")
    count = int(text)
    if count == 0:
        raise DatasetRejected(frame, "atom count", "a frame without atoms")
    if count > MAX_ATOMS_PER_FRAME:
        raise DatasetRejected(frame, "atom count", f"{count} atoms, over {MAX_ATOMS_PER_FRAME}")
    return count


def _columns(properties: object, frame: int) -> int:
    """The number of fields each atom line has, after checking every column's declaration."""
    if not isinstance(properties, str):
        raise DatasetRejected(frame, "Properties", "not a list of name:type:width columns")
    parts = properties.split(":")
    if len(parts) % 3 or len(parts) > 3 * MAX_COLUMNS:
        raise DatasetRejected(frame, "Properties", "not a list of name:type:width columns")
    total = 0
    for name, kind, width in zip(parts[::3], parts[1::3], parts[2::3], strict=True):
        if not _PROPERTY.match(name):
            raise DatasetRejected(frame, "Properties", f"{name[:40]!r} is not a column name")
        if kind not in ("S", "R", "I", "L"):
            raise DatasetRejected(frame, name, f"type {kind[:8]!r}, not S, R, I or L")
        if not width.isdigit() or not 1 <= int(width) <= MAX_COLUMNS:
            raise DatasetRejected(frame, name, f"width {width[:8]!r}, not 1 to {MAX_COLUMNS}")
        if READ_COLUMNS.get(name, (kind, int(width))) != (kind, int(width)):
            expected = ":".join(map(str, READ_COLUMNS[name]))
            raise DatasetRejected(frame, name, f"declared {kind}:{width}, must be {expected}")
        total += int(width)
    if total > MAX_COLUMNS:
        raise DatasetRejected(frame, "Properties", f"{total} columns per atom, over {MAX_COLUMNS}")
    if "pos" not in parts[::3] or not {"species", "Z"} & set(parts[::3]):
        raise DatasetRejected(frame, "Properties", "needs pos and species (or Z) columns")
    return total


def cell_problem(cell: np.ndarray, pbc: np.ndarray) -> str | None:
    """Why a cell cannot hold a structure, or None: finite, bounded, not degenerate, and at
    least :data:`MIN_DISTANCE_A` thick in every periodic direction."""
    if cell.shape != (3, 3) or not np.isfinite(cell).all():
        return "the cell is not finite"
    if np.abs(cell).max() > MAX_LENGTH_A:
        return f"a cell vector longer than {MAX_LENGTH_A:g} Å"
    if not pbc.any():
        return None
    if float(np.linalg.det(cell)) == 0:  # then a face has no area either
        return "a periodic frame needs a full 3D cell (these vectors are degenerate)"
    heights = cell_heights_A(Atoms(cell=cell))
    for axis in np.flatnonzero(pbc):
        if heights[axis] < MIN_DISTANCE_A:
            return (
                f"the cell is {heights[axis]:.3g} Å thick along vector {axis}: every atom would "
                f"overlap its periodic image (under {MIN_DISTANCE_A} Å)"
            )
    return None


def _check_comment(line: bytes, frame: int) -> int:
    """Check a comment line's cell and columns; the number of fields of an atom line."""
    from ase.io.extxyz import key_val_str_to_dict  # ase.io loads SciPy: the API starts without

    try:
        info = key_val_str_to_dict(line.decode("utf-8").strip())
    except (UnicodeDecodeError, ValueError, IndexError, KeyError) as exc:
        raise DatasetRejected(frame, "comment line", f"unreadable ({type(exc).__name__})") from None
    columns = _columns(info.get("Properties", "species:S:1:pos:R:3"), frame)
    if "Lattice" in info:
        try:  # ASE's cell is the transpose of what key_val_str_to_dict returns
            cell = np.asarray(info["Lattice"], dtype=float).reshape(3, 3).T
            pbc = np.broadcast_to(np.asarray(info.get("pbc", True), dtype=bool), 3)
        except (TypeError, ValueError):
            raise DatasetRejected(frame, "Lattice", "not nine numbers and a pbc") from None
        problem = cell_problem(cell, pbc)
        if problem:
            raise DatasetRejected(frame, "Lattice", problem)
    return columns


def prescan(path: Path) -> int:
    """Check the headers and line shapes of every frame; the number of frames.

    Raises
    ------
    DatasetRejected
        Naming the frame (0-based) and the field, at the first problem.
    OSError
        The file cannot be read (it does not exist, ...).
    """
    if not stat.S_ISREG(path.stat().st_mode):  # a FIFO blocks, /dev/zero never ends
        raise DatasetRejected(None, "file", "not a regular file (a directory, FIFO or device)")
    frames, blank = 0, False
    with path.open("rb") as handle:
        while line := _line(handle, frames, "atom count"):
            if not line.strip():
                blank = True  # fine at the end of the file
                continue
            if blank:
                raise DatasetRejected(
                    frames, "extxyz", "a blank line before this frame: extxyz readers stop there"
                )
            if frames >= MAX_FRAMES:
                raise DatasetRejected(frames, "extxyz", f"more than {MAX_FRAMES} frames")
            atoms = _atom_count(line, frames)
            columns = _check_comment(_line(handle, frames, "comment line"), frames)
            for atom in range(atoms):
                fields = _line(handle, frames, "atom line").split()
                if len(fields) != columns:
                    raise DatasetRejected(
                        frames,
                        "atom line",
                        f"atom {atom} has {len(fields)} fields, the columns say {columns}"
                        + (" (the file ends early?)" if not fields else ""),
                    )
            frames += 1
    if frames == 0:
        raise DatasetRejected(None, "extxyz", "no frame in the file")
    return frames
