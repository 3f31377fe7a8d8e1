"""WiSE cells built by the real packmol: composition, density, distances, determinism."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from ase import Atoms

from wise_al.systems.cells import (
    CellError,
    build_benchmark_cell,
    build_wise_cell,
    intermolecular_clash,
    mass_g,
    pack_cell,
)
from wise_al.systems.molecules import species_geometry
from wise_al.systems.species import DENSITY_21M_G_PER_CM3
from wise_al.systems.topology import find_bonds, molecule_ids

TFSI_BONDS = ["S-N", "S-O", "S-C", "C-F"]


def _density_g_per_cm3(atoms: Atoms) -> float:
    amu_g = 1.66053906660e-24
    return float(atoms.get_masses().sum() * amu_g / (atoms.get_volume() * 1e-24))


def test_21m_cell_has_the_composition_and_density() -> None:
    cell = build_wise_cell(21.0, 16, seed=1)
    counts = Counter(cell.get_chemical_symbols())
    assert len(cell) == 382  # p16_w42
    assert counts["Li"] == 16 and counts["N"] == 16 and counts["O"] == 16 * 4 + 42
    assert _density_g_per_cm3(cell) == pytest.approx(DENSITY_21M_G_PER_CM3, rel=1e-6)
    assert cell.pbc.all() and np.allclose(cell.cell, np.eye(3) * cell.cell[0, 0])
    scaled = cell.get_scaled_positions(wrap=False)
    assert (scaled > 0).all() and (scaled < 1).all()


def test_packed_molecules_are_intact_and_apart() -> None:
    cell = build_wise_cell(21.0, 2, seed=0)
    assert intermolecular_clash(cell, {"Li-Li": 2.65, "*": 1.4}) == ""
    bonds = find_bonds(cell, ["O-H", *TFSI_BONDS])
    assert len(bonds) == 5 * 2 + 2 * 14  # 2 O-H per water, 14 bonds per TFSI
    # molecules from the bond graph agree with the ones packmol was given
    graph_ids = molecule_ids(_without_ids(cell), bonds)
    assert len(set(graph_ids)) == len(set(cell.arrays["mol_id"])) == 2 + 2 + 5


def _without_ids(atoms: Atoms) -> Atoms:
    copy = atoms.copy()
    del copy.arrays["mol_id"]
    return copy


def test_same_seed_same_cell_other_seed_other_cell() -> None:
    a, b, c = (build_wise_cell(21.0, 2, seed=s) for s in (5, 5, 6))
    assert np.array_equal(a.positions, b.positions)
    assert not np.allclose(a.positions, c.positions)


def test_benchmark_cell_p64_w170_has_the_published_side() -> None:
    cell = build_benchmark_cell("p64_w170")
    assert len(cell) == 1534
    assert cell.cell[0, 0] == pytest.approx(27.4938)
    assert _density_g_per_cm3(cell) == pytest.approx(1.7126, abs=0.002)


@pytest.mark.slow
def test_impossible_packing_is_a_clear_error() -> None:
    with pytest.raises(CellError, match="lower density"):
        pack_cell({"H2O": 40}, density_g_per_cm3=4.0)
    with pytest.raises(CellError, match="unknown benchmark cell"):
        build_benchmark_cell("p1_w1")


def test_tfsi_geometry_is_a_sensible_anion() -> None:
    tfsi = species_geometry("TFSI-")
    assert tfsi.get_chemical_formula() == "C2F6NO4S2"
    assert len(find_bonds(tfsi, TFSI_BONDS)) == 14
    assert mass_g({"TFSI-": 1}) * 6.02214076e23 == pytest.approx(280.14, abs=0.05)


def test_packing_limits_clear_the_default_flags() -> None:
    from wise_al.campaign_spec.exploration import DEFAULT_MIN_DISTANCE_A
    from wise_al.systems.cells import PACKED_MIN_DISTANCE_A

    for pair, flag_limit in DEFAULT_MIN_DISTANCE_A.items():
        label = "-".join(sorted(pair.split("-")))
        assert PACKED_MIN_DISTANCE_A.get(label, PACKED_MIN_DISTANCE_A["*"]) > flag_limit, pair
