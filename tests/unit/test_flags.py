"""Physics flags on hand-built frames: each rule fires when it must, and says why."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule
from ase.md.velocitydistribution import thermalize_momenta

from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.flags import Flag, FlagChecker
from wise_al.systems.cells import build_wise_cell, pack_cell


@pytest.fixture(scope="module")
def water_box_with_li() -> Atoms:
    return pack_cell({"Li+": 2, "H2O": 40}, density_g_per_cm3=1.0, seed=3)


def _kinds(flags: list[Flag]) -> set[str]:
    return {f.kind for f in flags}


def test_a_packed_cell_raises_no_flag() -> None:
    cell = build_wise_cell(21.0, 16, seed=2)
    assert FlagChecker(FlagsSpec(), cell, 298.15).check(cell) == []


def test_two_li_2_A_apart_are_flagged_by_index_and_distance(water_box_with_li: Atoms) -> None:
    frame = water_box_with_li.copy()
    li = [i for i, s in enumerate(frame.get_chemical_symbols()) if s == "Li"]
    frame.positions[li[1]] = frame.positions[li[0]] + [2.0, 0.0, 0.0]
    flags = FlagChecker(FlagsSpec(), water_box_with_li).check(frame)
    li_li = [f for f in flags if f.kind == "min_distance" and set(f.atoms) == set(li)]
    assert len(li_li) == 1
    assert li_li[0].value == pytest.approx(2.0) and li_li[0].threshold == pytest.approx(2.6)
    assert f"Li {li[0]} and Li {li[1]} are 2.00 Å apart" in li_li[0].message


def test_distances_use_the_minimum_image(water_box_with_li: Atoms) -> None:
    frame = water_box_with_li.copy()
    side = frame.cell[0, 0]
    li = [i for i, s in enumerate(frame.get_chemical_symbols()) if s == "Li"]
    frame.positions[li[0]] = [0.5, side / 2, side / 2]
    frame.positions[li[1]] = [side - 1.5, side / 2, side / 2]  # 2.0 Å through the boundary
    flags = FlagChecker(FlagsSpec(), water_box_with_li).check(frame)
    assert any(set(f.atoms) == set(li) and f.value == pytest.approx(2.0) for f in flags)


def test_a_stretched_water_is_broken_and_a_hop_is_a_new_bond(water_box_with_li: Atoms) -> None:
    reference = water_box_with_li
    symbols = reference.get_chemical_symbols()
    oxygen = symbols.index("O")
    hydrogen = oxygen + 1  # packmol keeps each water's atoms together: O, H, H
    frame = reference.copy()
    direction = frame.get_distance(oxygen, hydrogen, mic=True, vector=True)
    frame.positions[hydrogen] = frame.positions[oxygen] + 1.6 * direction / np.linalg.norm(
        direction
    )
    flags = FlagChecker(FlagsSpec(), reference).check(frame)
    broken = [f for f in flags if f.kind == "bond_broken"]
    assert [tuple(f.atoms) for f in broken] == [(oxygen, hydrogen)]
    assert broken[0].value == pytest.approx(1.6) and "breaking" in broken[0].message

    other_oxygen = symbols.index("O", oxygen + 3)
    hop = reference.copy()
    hop.positions[hydrogen] = hop.positions[other_oxygen] + [0.0, 0.0, 1.0]
    formed = [f for f in FlagChecker(FlagsSpec(), reference).check(hop) if f.kind == "bond_formed"]
    assert (min(hydrogen, other_oxygen), max(hydrogen, other_oxygen)) in [f.atoms for f in formed]


def test_any_pair_at_half_an_angstrom_overlaps() -> None:
    waters = [molecule("H2O") for _ in range(2)]
    waters[1].translate([0.0, 0.0, 0.5])  # the two oxygens 0.5 Å apart
    frame = waters[0] + waters[1]
    frame.center(vacuum=5.0)
    flags = FlagChecker(FlagsSpec(), frame).check(frame)
    overlap = [f for f in flags if f.kind == "overlap" and f.atoms == (0, 3)]
    assert overlap and overlap[0].value == pytest.approx(0.5)
    assert "overlap" in overlap[0].message


def test_temperature_runaway(water_box_with_li: Atoms) -> None:
    frame = water_box_with_li.copy()
    thermalize_momenta(frame, temperature_K=2000, rng=np.random.default_rng(0))
    checker = FlagChecker(FlagsSpec(), water_box_with_li, target_temperature_K=300.0)
    flags = [f for f in checker.check(frame) if f.kind == "temperature"]
    assert len(flags) == 1 and flags[0].value > 600 and flags[0].unit == "K"
    cool = water_box_with_li.copy()
    thermalize_momenta(cool, temperature_K=300, rng=np.random.default_rng(0))
    assert "temperature" not in _kinds(checker.check(cool))
    # a saved production frame has no momenta: its recorded temperature is checked
    saved = water_box_with_li.copy()
    saved.info["temperature_K"] = 915.0
    assert [f.value for f in checker.check(saved) if f.kind == "temperature"] == [915.0]
    saved.info["temperature_K"] = 310.0
    assert "temperature" not in _kinds(checker.check(saved))


def test_disabled_rules_stay_quiet(water_box_with_li: Atoms) -> None:
    frame = water_box_with_li.copy()
    frame.positions[1] = frame.positions[0] + [0, 0, 1.6]
    spec = FlagsSpec.model_validate({"bond_integrity": {"enabled": False}})
    assert "bond_broken" not in _kinds(FlagChecker(spec, water_box_with_li).check(frame))


def test_nan_positions_are_refused(water_box_with_li: Atoms) -> None:
    frame = water_box_with_li.copy()
    frame.positions[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FlagChecker(FlagsSpec(), water_box_with_li).check(frame)


def test_flags_serialize_for_storage() -> None:
    flag = Flag("overlap", (1, 2), 0.5, 0.66, "Å", "O 1 and O 2 overlap")
    assert flag.to_dict() == {
        "kind": "overlap",
        "atoms": [1, 2],
        "value": 0.5,
        "threshold": 0.66,
        "unit": "Å",
        "message": "O 1 and O 2 overlap",
    }
