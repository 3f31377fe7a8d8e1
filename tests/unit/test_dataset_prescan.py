"""Hostile extxyz files are refused before ASE parses them, quickly, in one short line.

Each file here once froze the API, ran a reader forever, or ended in a server error.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.cell import Cell

from wise_al.datasets.bounded import check_bounded
from wise_al.datasets.check import DatasetRejected, check_dataset
from wise_al.datasets.prescan import MAX_FRAMES, cell_problem
from wise_al.systems.neighbours import pairs_within

LEVEL = "a" * 64
LABELLED = "Properties=species:S:1:pos:R:3:REF_forces:R:3 REF_energy=-1"


def _frame(comment: str, *atoms: str) -> str:
    return f"{len(atoms)}\n{comment}\n" + "".join(f"{a}\n" for a in atoms)


def _lattice(*vectors: float) -> str:
    return 'Lattice="' + " ".join(f"{v:g}" for v in vectors) + '" pbc="T T T"'


H = "H 0 0 0 .1 .1 .1"
HOSTILE = {
    # a periodic cell 1e-9 Å thick: once a neighbour list over billions of images
    "thin": (_frame(f"{_lattice(10, 0, 0, 0, 10, 0, 0, 0, 1e-9)} {LABELLED}", H), "Lattice"),
    "tiny": (_frame(f"{_lattice(1e-9, 0, 0, 0, 1e-9, 0, 0, 0, 1e-9)} {LABELLED}", H), "Lattice"),
    "flat": (_frame(f"{_lattice(10, 0, 0, 0, 10, 0, 0, 0, 0)} {LABELLED}", H), "Lattice"),
    "skewed": (_frame(f"{_lattice(10, 0, 0, 10, 1e-9, 0, 0, 0, 10)} {LABELLED}", H), "Lattice"),
    "vast": (_frame(f"{_lattice(1e9, 0, 0, 0, 10, 0, 0, 0, 10)} {LABELLED}", H), "Lattice"),
    "nan-cell": (
        _frame(f"{_lattice(10, 0, 0, 0, 10, 0, 0, 0, float('nan'))} {LABELLED}", H),
        "Lattice",
    ),
    # a header that makes a reader read forever
    "1e12-atoms": (f"1000000000000\n{LABELLED}\n{H}\n", "atom count"),
    "not-a-count": ("many\nx\n", "atom count"),
    "wide-property": (
        _frame("Properties=species:S:1:pos:R:3:junk:R:100000000", "H 0 0 0 1"),
        "junk",
    ),
    "string-forces": (
        _frame("Properties=species:S:1:pos:R:3:REF_forces:S:3 REF_energy=-1", "H 0 0 0 a b c"),
        "REF_forces",
    ),
    "stress-word": (
        _frame(f"{_lattice(5, 0, 0, 0, 5, 0, 0, 0, 5)} {LABELLED} REF_stress=abc", H),
        "REF_stress",
    ),
    "24-digit-int": (
        _frame(
            "Properties=species:S:1:pos:R:3:REF_forces:R:3:tag:I:1 REF_energy=-1",
            f"{H} 123456789012345678901234",
        ),
        "extxyz",
    ),
    "z-5000": (
        _frame("Properties=Z:I:1:pos:R:3:REF_forces:R:3 REF_energy=-1", "5000 0 0 0 .1 .1 .1"),
        "Z",
    ),
    "far-away": (_frame(LABELLED, "H 1e9 0 0 .1 .1 .1"), "positions"),
    "short-atom-line": (_frame(LABELLED, "H 0 0 0 .1 .1"), "atom line"),
    "ends-early": (f"3\n{LABELLED}\n{H}\n", "atom line"),
    "long-line": (_frame(LABELLED + " x=" + "y" * 70_000, H), "comment line"),
    "huge-symbol": (_frame(LABELLED, "Q" * 2_000_000 + " 0 0 0 .1 .1 .1"), "atom line"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_refused_at_once_naming_the_field(tmp_path: Path, name: str) -> None:
    text, field = HOSTILE[name]
    path = tmp_path / "hostile.extxyz"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(DatasetRejected) as refused:
        check_dataset(path, "labelled", LEVEL)
    assert time.monotonic() - started < 5, "refused, but not before a long parse"
    assert refused.value.field == field, str(refused.value)
    assert refused.value.frame == 0
    assert len(str(refused.value)) < 1200 and "\n" not in str(refused.value)


def test_a_huge_element_symbol_is_quoted_clipped(tmp_path: Path) -> None:
    path = tmp_path / "symbol.extxyz"
    path.write_text(_frame(LABELLED, "Q" * 60_000 + " 0 0 0 .1 .1 .1"))
    with pytest.raises(DatasetRejected) as refused:
        check_dataset(path, "labelled", LEVEL)
    assert refused.value.field == "symbols"
    assert "q" * 100 in str(refused.value) and len(str(refused.value)) < 1200
    assert all(len(str(part)) <= 240 for part in refused.value.errors[0]["loc"])


def test_more_frames_than_the_cap_are_refused_by_the_scan(tmp_path: Path) -> None:
    path = tmp_path / "many.extxyz"
    path.write_text(_frame("", "H 0 0 0") * (MAX_FRAMES + 1))
    with pytest.raises(DatasetRejected) as refused:
        check_dataset(path, "structures")
    assert (refused.value.frame, refused.value.field) == (MAX_FRAMES, "extxyz")


def test_a_fifo_or_a_device_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.extxyz"
    os.mkfifo(fifo)  # opening it would block until a writer comes
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(DatasetRejected, match="not a regular file"):
            check_dataset(path, "structures")


def test_blank_lines_may_end_a_file_but_not_split_it(tmp_path: Path) -> None:
    path = tmp_path / "blank.extxyz"
    path.write_text(_frame("", "H 0 0 0") * 2 + "\n\n")
    assert check_dataset(path, "structures").frames == 2
    # ASE's reader stops at a blank line: the frames after it would be lost unseen
    path.write_text(_frame("", "H 0 0 0") + "\n" + _frame("", "H 0 0 0"))
    with pytest.raises(DatasetRejected, match="blank line") as refused:
        check_dataset(path, "structures")
    assert refused.value.frame == 1


@pytest.mark.parametrize(
    ("cell", "pbc", "problem"),
    [
        (np.diag([10.0, 10.0, 0.4]), [True] * 3, "0.4 Å thick along vector 2"),
        (np.diag([10.0, 10.0, 0.4]), [True, True, False], None),  # open along the thin one
        (np.diag([10.0, 10.0, 0.6]), [True] * 3, None),
        # 10 Å vectors 0.3 Å apart in height: thin although no vector is short
        (np.array([[10.0, 0, 0], [10.0, 0.3, 0], [0, 0, 10.0]]), [True] * 3, "vector 0"),
        (np.zeros((3, 3)), [True] * 3, "degenerate"),
        (np.zeros((3, 3)), [False] * 3, None),
    ],
)
def test_cell_heights_are_volume_over_the_opposite_face(
    cell: np.ndarray, pbc: list[bool], problem: str | None
) -> None:
    found = cell_problem(cell, np.array(pbc))
    assert (found is None) if problem is None else (found is not None and problem in found)
    if Cell(cell).rank == 3:  # independently: heights are 1 / |reciprocal vector| (ASE)
        heights = 1 / np.linalg.norm(Cell(cell).reciprocal(), axis=1)
        assert (found is not None) == bool((heights[np.array(pbc)] < 0.5).any())


def test_sparse_frames_get_every_pair_with_bounded_memory() -> None:
    """Against all pair distances (ASE, minimum image): a sparse 1000 Å box once took 4 GB."""
    rng = np.random.default_rng(3)
    for cell, pbc in (([1000.0, 900.0, 800.0], True), ([0.0, 0.0, 0.0], False)):
        positions = rng.uniform(0, 1000, (40, 3))
        positions[1::2] = positions[::2] + rng.normal(0, 1.0, (20, 3))  # close partners
        atoms = Atoms(f"H{len(positions)}", positions=positions, cell=cell, pbc=pbc)
        pairs = pairs_within(atoms, 1.5)
        distances = atoms.get_all_distances(mic=pbc)
        i, j = np.nonzero(np.triu(distances < 1.5, k=1))
        assert sorted(zip(pairs.i, pairs.j, strict=True)) == sorted(zip(i, j, strict=True))
        assert np.allclose(sorted(pairs.distance_A), sorted(distances[i, j]))
        assert len(pairs) > 5


def test_the_bounded_check_answers_as_the_check_does_within_its_limits(tmp_path: Path) -> None:
    good = Path(__file__).parents[1] / "data" / "li_water_xtb.extxyz"
    assert check_bounded(good, "labelled", LEVEL, 60, 1 << 30) == check_dataset(
        good, "labelled", LEVEL
    )
    thin = tmp_path / "thin.extxyz"
    thin.write_text(HOSTILE["thin"][0])
    with pytest.raises(DatasetRejected) as refused:
        check_bounded(thin, "labelled", LEVEL, 60, 1 << 30)
    assert (refused.value.frame, refused.value.field) == (0, "Lattice")
    # past either limit the child is stopped, and the refusal names the limit
    with pytest.raises(DatasetRejected, match=r"check: took longer than 0.001 s \(the limit\)"):
        check_bounded(good, "labelled", LEVEL, 0.001, 1 << 30)
    grid = tmp_path / "grid.extxyz"  # 64 000 atoms 1 Å apart: megabytes of arrays
    points = np.indices((40, 40, 40)).reshape(3, -1).T
    grid.write_text(_frame("", *(f"H {x} {y} {z}" for x, y, z in points)))
    assert check_bounded(grid, "structures", None, 60, 1 << 30).atoms_max == 64_000
    with pytest.raises(DatasetRejected, match=r"check: needed more than 8 MiB \(the limit\)"):
        check_bounded(grid, "structures", None, 60, 8 << 20)
