"""Uploads are checked frame by frame: each refusal names the frame and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write

from wise_al.datasets.check import DatasetRejected, check_dataset
from wise_al.datasets.confirm import confirm_level, spread

DATA = Path(__file__).parents[1] / "data" / "li_water_xtb.extxyz"
LEVEL = "a" * 64


def frames(count: int = 5) -> list[Atoms]:
    loaded = read(DATA, index=f":{count}")
    assert isinstance(loaded, list)
    return loaded


def written(tmp_path: Path, items: list[Atoms]) -> Path:
    path = tmp_path / "upload.extxyz"
    write(path, items, format="extxyz")
    return path


def test_a_good_file_is_summarised() -> None:
    summary = check_dataset(DATA, "labelled", LEVEL)
    assert summary.frames == 40
    assert summary.elements == ["H", "Li", "O"]
    assert summary.atoms_min == 10 and summary.atoms_max == 13
    lo, hi = summary.energy_per_atom_eV
    assert lo <= hi < 0
    assert summary.max_force_eV_per_A is not None and 0 < summary.max_force_eV_per_A < 1000


def _nan_force(atoms: Atoms) -> None:
    atoms.arrays["REF_forces"][4, 1] = np.nan


def _no_energy(atoms: Atoms) -> None:
    del atoms.info["REF_energy"]


def _two_columns(atoms: Atoms) -> None:
    atoms.arrays["REF_forces"] = atoms.arrays["REF_forces"][:, :2].copy()


def _other_level(atoms: Atoms) -> None:
    atoms.info["REF_level_sha256"] = "b" * 64


def _stress_in_gpa(atoms: Atoms) -> None:
    atoms.pbc = True
    atoms.info["REF_stress"] = np.full(6, 3.5)  # GPa, not eV/Å³


def _overlap(atoms: Atoms) -> None:
    atoms.positions[2] = atoms.positions[1] + [0.1, 0, 0]


def _nan_position(atoms: Atoms) -> None:
    atoms.positions[3, 0] = np.inf


def _hartree_units(atoms: Atoms) -> None:
    atoms.info["energy_unit"] = "Hartree"


def _forces_huge(atoms: Atoms) -> None:
    atoms.arrays["REF_forces"][0] = [5000.0, 0, 0]


@pytest.mark.parametrize(
    ("spoil", "field", "words"),
    [
        (_nan_force, "REF_forces", "atom 4 is not finite"),
        (_no_energy, "REF_energy", "missing"),
        (_two_columns, "REF_forces", "must be R:3"),
        (_other_level, "REF_level_sha256", "declares"),
        (_stress_in_gpa, "REF_stress", "not in eV/Å³"),
        (_overlap, "positions", "overlapping"),
        (_nan_position, "positions", "not finite"),
        (_hartree_units, "energy_unit", "Hartree"),
        (_forces_huge, "REF_forces", "not in eV/Å"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v))[:20],
)
def test_a_bad_frame_is_named_with_its_field(
    tmp_path: Path, spoil: Callable[[Atoms], None], field: str, words: str
) -> None:
    items = frames()
    spoil(items[3])
    with pytest.raises(DatasetRejected) as refused:
        check_dataset(written(tmp_path, items), "labelled", LEVEL)
    assert (refused.value.frame, refused.value.field) == (3, field)
    assert words in refused.value.reason
    assert str(refused.value).startswith(f"frame 3, {field}: ")


def test_an_unknown_element_is_named_with_its_frame(tmp_path: Path) -> None:
    path = written(tmp_path, frames(3))
    lines = path.read_text().splitlines()
    second = int(lines[0]) + 2  # the second frame's atom-count line
    lines[second + 2] = "Xq" + lines[second + 2][2:]  # its first atom
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetRejected) as refused:
        check_dataset(path, "labelled", LEVEL)
    assert (refused.value.frame, refused.value.field) == (1, "symbols")
    assert "Xq" in refused.value.reason


def test_truncated_and_empty_files_are_refused(tmp_path: Path) -> None:
    path = written(tmp_path, frames(2))
    path.write_text(path.read_text()[:-200])
    with pytest.raises(DatasetRejected) as refused:
        check_dataset(path, "labelled", LEVEL)
    assert refused.value.frame == 1
    path.write_text("")
    with pytest.raises(DatasetRejected, match="no frame"):
        check_dataset(path, "labelled", LEVEL)


def test_structures_need_no_labels_but_labelled_data_needs_a_level(tmp_path: Path) -> None:
    bare = [Atoms(a.numbers, a.positions, cell=a.cell, pbc=a.pbc) for a in frames(2)]
    path = written(tmp_path, bare)
    assert check_dataset(path, "structures").frames == 2
    with pytest.raises(DatasetRejected, match="REF_energy"):
        check_dataset(path, "labelled", LEVEL)
    with pytest.raises(DatasetRejected, match="declared level"):
        check_dataset(path, "labelled", None)


def test_confirmation_names_the_first_frame_that_disagrees() -> None:
    items = frames(6)
    exact = lambda a: (float(a.info["REF_energy"]), a.arrays["REF_forces"])  # noqa: E731
    confirmed = confirm_level(items, exact, 3)
    assert confirmed.frames == [0, 2, 5] == spread(6, 3)
    assert max(confirmed.force_max_diff_eV_per_A) == 0.0

    def shifted(atoms: Atoms) -> tuple[float, np.ndarray]:
        # another level: 10 meV/atom apart in energy, the same forces
        return float(atoms.info["REF_energy"]) + 0.01 * len(atoms), atoms.arrays["REF_forces"]

    with pytest.raises(DatasetRejected) as refused:
        confirm_level(items, shifted, 3)
    assert (refused.value.frame, refused.value.field) == (0, "REF_energy")
    with pytest.raises(DatasetRejected, match="could not re-label"):
        confirm_level(items, lambda a: "scf_not_converged", 1)


def test_an_imported_voigt_stress_is_stored_as_the_full_tensor_in_ases_order() -> None:
    from ase.stress import full_3x3_to_voigt_6_stress

    from wise_al.jobs.seed import _stress_3x3

    full = np.array([[1.0, 0.4, 0.5], [0.4, 2.0, 0.6], [0.5, 0.6, 3.0]]) * 1e-3
    voigt = full_3x3_to_voigt_6_stress(full)  # xx yy zz yz xz xy, ASE's (and mace's) order
    assert np.allclose(np.array(_stress_3x3(voigt)), full)
    assert np.allclose(np.array(_stress_3x3(full.ravel())), full)
    assert _stress_3x3(None) is None
