"""Campaign spec: defaults from science.md, loading, and every kind of bad input named."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.factories import BAD_SPECS, EXAMPLES, example_spec, with_value
from wise_al.campaign_spec import (
    dump_spec,
    load_spec,
    parse_spec,
    parse_spec_text,
    spec_json_schema,
)
from wise_al.campaign_spec.io import MAX_SPEC_BYTES
from wise_al.errors import SpecError
from wise_al.systems.species import waters_for_molality


def test_examples_are_valid_and_have_the_documented_sizes() -> None:
    demo = load_spec(EXAMPLES / "demo.yaml")
    gpu = load_spec(EXAMPLES / "wise_21m_gpu.yaml")
    assert demo.system.atom_count() == 47  # 2 LiTFSI + 5 H2O, as science.md suggests
    assert gpu.system.atom_count() == 382  # p16_w42
    assert gpu.labelling.functional == "r2SCAN"
    assert gpu.exploration.device == "cuda"


@pytest.mark.parametrize(
    ("molality", "pairs", "waters"),
    [(21.0, 16, 42), (21.0, 64, 170), (21.0, 2, 5), (21.0, 32, 85), (10.0, 16, 89)],
)
def test_molality_gives_the_benchmark_water_counts(
    molality: float, pairs: int, waters: int
) -> None:
    assert waters_for_molality(molality, pairs) == waters


def test_the_p64_w170_cell_has_the_benchmarks_atom_count() -> None:
    composition = {"kind": "molality", "salt": "LiTFSI", "molality_mol_per_kg": 21, "ion_pairs": 64}
    spec = parse_spec({"name": "p64", "model": {"foundation": "medium-mpa-0"},
                       "system": {"composition": composition}})  # fmt: skip
    assert spec.system.atom_count() == 1534  # 64 x 16 + 170 x 3, science.md


def test_defaults_come_from_the_science() -> None:
    spec = parse_spec({"name": "defaults", "model": {"foundation": "medium-mpa-0"}})
    assert spec.system.density_g_per_cm3 == pytest.approx(1.7126)
    assert spec.system.temperature_K == pytest.approx(298.15)
    assert spec.system.molecules() == {"LiTFSI": 16, "H2O": 42}
    assert (spec.uncertainty.trust_lo_eV_per_A, spec.uncertainty.trust_hi_eV_per_A) == (0.05, 0.15)
    assert spec.flags.min_distance_A["Li-Li"] == pytest.approx(2.6)
    assert spec.stopping.accurate_ratio_target == pytest.approx(0.9)
    assert spec.labelling.method == "xtb" and spec.labelling.functional is None


def test_yaml_and_json_give_the_same_spec_and_the_dump_round_trips() -> None:
    data = example_spec("21m")
    from_yaml = parse_spec_text(yaml.safe_dump(data))
    from_json = parse_spec_text(json.dumps(data))
    assert from_yaml == from_json
    assert parse_spec(dump_spec(from_yaml)) == from_yaml


def test_dft_level_of_theory_is_filled_in_and_case_insensitive() -> None:
    spec = parse_spec(with_value(example_spec(), "labelling", {"method": "dft"}))
    assert (spec.labelling.functional, spec.labelling.dispersion) == ("PBE", "none")
    spec = parse_spec(
        with_value(
            example_spec(),
            "labelling",
            {"method": "dft", "functional": "revpbe", "dispersion": "d3(bj)"},
        )
    )
    assert (spec.labelling.functional, spec.labelling.dispersion) == ("revPBE", "D3BJ")


def test_xtb_refuses_a_functional() -> None:
    bad = with_value(example_spec(), "labelling.functional", "PBE")
    with pytest.raises(SpecError, match="functional apply to method 'dft' only"):
        parse_spec(bad)


def test_default_rules_follow_the_system_but_written_rules_are_checked() -> None:
    water = {"kind": "counts", "molecules": {"H2O": 8}}
    spec = parse_spec(with_value(example_spec(), "system.composition", water) | {"flags": {}})
    assert spec.flags.min_distance_A == {"O-O": 1.9}
    assert spec.flags.bond_integrity.bonds == ["O-H"]
    # the demo spec writes Li-Li explicitly: in pure water that is an error, not a silent drop
    with pytest.raises(SpecError, match="Li, not in this system"):
        parse_spec(with_value(example_spec(), "system.composition", water))


@pytest.mark.parametrize(("path", "value", "expected"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
def test_bad_specs_name_the_field(path: str, value: Any, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(with_value(example_spec(), path, value))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_nan_and_infinity_are_refused() -> None:
    with pytest.raises(SpecError, match=r"system\.temperature_K"):
        parse_spec_text(
            yaml.safe_dump(example_spec()).replace(
                "temperature_K: 298.15", "temperature_K: .nan", 1
            )
        )
    with pytest.raises(SpecError, match="cutoff_Ry"):
        parse_spec(with_value(example_spec(), "labelling.cutoff_Ry", math.inf))


def test_name_is_required_and_cannot_be_a_path() -> None:
    data = example_spec()
    del data["name"]
    with pytest.raises(SpecError, match="name: Field required"):
        parse_spec(data)
    with pytest.raises(SpecError, match="name"):
        parse_spec(with_value(example_spec(), "name", "../../etc"))


SCF = ("force_eval", "dft", "scf")


def _tree(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for key in reversed(path):
        value = {key: value}
    return value


UNSAFE_OVERRIDES = [
    ((*SCF, "@include"), "/etc/passwd", "not a CP2K section or keyword name"),
    (("global", "project"), "@INCLUDE /etc/passwd", "may only tune"),
    ((*SCF, "scf_guess"), "${HOME}", "must be one of ATOMIC"),
    ((*SCF, "scf_guess"), "ATOMIC\n@INCLUDE /etc/passwd", "control character"),
    ((*SCF, "print", "restart", "filename"), "../escape", "may only tune"),
    ((*SCF, "print", "restart", "filename"), "/tmp/abs", "may only tune"),
    # found by attacking the landed API: each one went round the old section allowlist
    (("force_eval",), [{"dft": {"scf": {"added_mos": 1}}}], "a list is not allowed"),
    ((*SCF, "ot"), [{"minimizer": "CG"}], "a list is not allowed"),
    (("force_eval", "dft", "mgrid", "multigrid_cutoff"), [400, 200], "a list is not allowed"),
    (("force_eval", "dft", "mgrid", "multigrid_cutoff"), 50, "may only tune"),
    (("force_eval", "dft", "qs", "ddapc_restraint", "strength"), 10.0, "may only tune"),
    ((*SCF, "smear", "electronic_temperature"), 5000, "may only tune"),
    (("force_eval", "dft", "poisson", "periodic"), "NONE", "may only tune"),
    (("force_eval", "dft", "qs", "eps_default"), 1e-2, "must lie in [1e-16, 1e-10]"),
    (("force_eval", "dft", "mgrid", "ngrids"), 1_000_000_000, "must lie in [1, 8]"),
    ((*SCF, "added_mos"), 1e30, "must be an integer"),
    ((*SCF, "added_mos"), 10**30, "must lie in [0, 200]"),
    ((*SCF, "ot", "_"), "yes", "must be true or false"),
    ((*SCF, "outer_scf", "max_scf"), True, "must be an integer"),
    ((*SCF, "outer_scf", "eps_scf"), float("nan"), "must lie in"),
    ((*SCF, "scf_guess"), {"x": 1}, "may only tune"),
    # file keywords whose names do not say "file": refused by the section allowlist
    (
        ("force_eval", "dft", "xc", "hf", "interaction_potential", "t_c_g_data"),
        "/x",
        "set labelling.functional",
    ),
    (("force_eval", "external_potential", "function"), "X", "may only tune"),
    (("motion", "driver", "host"), "evil.example.com", "may only tune"),
    (("force_eval", "subsys", "coord", "default_keyword"), "H 0 0 0", "may only tune"),
    # the level of theory belongs to typed fields, where it is recorded
    (("force_eval", "dft", "xc", "xc_functional", "_"), "BLYP", "set labelling.functional"),
    ((*SCF, "max_scf"), 500, "set labelling.max_scf instead"),
    (("force_eval", "dft", "mgrid", "cutoff"), 200, "set labelling.cutoff_Ry instead"),
    (("force_eval", "dft", "qs", "method"), "GPW", "set labelling.method instead"),
]


@pytest.mark.parametrize(("path", "value", "expected"), UNSAFE_OVERRIDES)
def test_unsafe_cp2k_overrides_are_refused(
    path: tuple[str, ...], value: Any, expected: str
) -> None:
    spec = with_value(example_spec(), "labelling.cp2k_overrides", _tree(path, value))
    with pytest.raises(SpecError, match=re.escape(expected)):
        parse_spec(spec)


@pytest.mark.parametrize("basis", ["X\n@INCLUDE /etc/passwd", "DZVP\x00", "../BASIS", "A B"])
def test_basis_names_cannot_inject_input(basis: str) -> None:
    with pytest.raises(SpecError, match=r"labelling\.basis"):
        parse_spec(with_value(example_spec(), "labelling.basis", basis))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("labelling: {cp2k_overrides: {global: &a [*a]}}", "aliases"),
        ("name: a\nname: b\n", "'name' appears twice"),
        ('{"name": "a", "name": "b"}', "'name' appears twice"),
        ("name: " + "9" * 5000, "not valid YAML or JSON"),
        ("name: !!python/object/apply:os.getpid []", "could not determine a constructor"),
    ],
)
def test_hostile_yaml_is_refused_quickly(text: str, expected: str) -> None:
    with pytest.raises(SpecError, match=re.escape(expected)):
        parse_spec_text(text)


def test_lax_coercions_are_refused() -> None:
    for path, value in [("selection.budget_per_iteration", "8"), ("model.committee_size", True)]:
        with pytest.raises(SpecError, match=re.escape(path)):
            parse_spec(with_value(example_spec(), path, value))


def test_overrides_are_bounded() -> None:
    wide = {f"k{i}": 1 for i in range(300)}
    with pytest.raises(SpecError, match="at most 256"):
        parse_spec(with_value(example_spec(), "labelling.cp2k_overrides", {"force_eval": wide}))


def test_valid_cp2k_overrides_are_kept() -> None:
    overrides = {
        "force_eval": {
            "dft": {
                "scf": {"scf_guess": "RESTART", "outer_scf": {"max_scf": 10, "eps_scf": 1e-6}},
                "qs": {"eps_default": 1e-12},
            }
        }
    }
    spec = parse_spec(with_value(example_spec(), "labelling.cp2k_overrides", overrides))
    assert spec.labelling.cp2k_overrides == overrides
    lower = with_value(
        example_spec(), "labelling.cp2k_overrides", {"global": {"print_level": "medium"}}
    )
    assert parse_spec(lower).labelling.cp2k_overrides == {"global": {"print_level": "MEDIUM"}}


def test_the_same_keyword_twice_in_two_spellings_is_refused() -> None:
    twice = {"force_eval": {"dft": {"scf": {"added_mos": 2, "ADDED_MOS": 3}}}}
    with pytest.raises(SpecError, match="given twice"):
        parse_spec(with_value(example_spec(), "labelling.cp2k_overrides", twice))


def test_unreadable_malformed_and_huge_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nsystem: [unclosed\n")
    with pytest.raises(SpecError, match=r"broken.yaml: not valid YAML or JSON at line \d+"):
        load_spec(broken)
    scalar = tmp_path / "scalar.json"
    scalar.write_text("42")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_spec(scalar)
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (MAX_SPEC_BYTES + 1))
    with pytest.raises(SpecError, match="larger than"):
        load_spec(huge)


def test_json_schema_is_strict_and_complete() -> None:
    schema = spec_json_schema()
    assert schema["additionalProperties"] is False
    assert {"system", "model", "exploration", "uncertainty", "flags", "selection"} <= set(
        schema["properties"]
    )
    assert schema["required"] == ["name", "model"]
    assert schema["$defs"]["LabellingSpec"]["properties"]["functional"]


#: Inputs that passed the old bounds (found by attacking the landed API), with the field that
#: must now be named.
LOOSE_BOUNDS = [
    ("system.composition", {"kind": "molality", "molality_mol_per_kg": 5e-324}, "molality"),
    ("system.temperature_K", 1e-300, "system.temperature_K"),
    ("system.walkers", [{"replicas": 256}] * 256, "65536 replicas in all; at most 256"),
    ("exploration.steps_per_iteration", [100_000_000] * 1000, "exploration.steps_per_iteration"),
    ("exploration.steps_per_iteration", [100_000_000], "GiB of trajectory per iteration"),
    ("model.foundation", "/models/a\nb.model", "control character '\\n'"),
    ("model.foundation", "/models/a\x00.model", "control character '\\x00'"),
    ("name", "x\x00", "name"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "expected"), LOOSE_BOUNDS)
def test_physics_and_storage_bound_every_input(path: str, value: Any, expected: str) -> None:
    spec = with_value(example_spec(), path, value)
    if path == "exploration.steps_per_iteration":
        spec["exploration"]["save_interval_steps"] = 1
    with pytest.raises(SpecError, match=re.escape(expected)) as caught:
        parse_spec(spec)
    assert "\n" not in str(caught.value)


def test_a_cell_too_small_for_its_composition_is_refused_by_its_density() -> None:
    crushed = with_value(
        example_spec(), "system.composition", {"kind": "counts", "molecules": {"LiTFSI": 5000}}
    )
    crushed["system"]["cell_A"] = [2.0, 2.0, 2.0]
    crushed["system"].pop("density_g_per_cm3", None)
    with pytest.raises(SpecError, match=r"system: .*g/cm³; a cell must lie in \[0.1, 10\]"):
        parse_spec(crushed)
    # the density it computes is the experimental one for the benchmark cell (science.md)
    bench = with_value(example_spec(), "system.composition", {"kind": "molality", "ion_pairs": 64})
    bench["system"]["cell_A"] = [27.4938] * 3
    bench["system"].pop("density_g_per_cm3", None)
    assert parse_spec(bench).system.implied_density_g_per_cm3() == pytest.approx(1.7126, rel=2e-3)


def test_many_problems_make_one_capped_line_with_a_count() -> None:
    spec = example_spec()
    spec.update({f"unknown_{i}": i for i in range(40)})
    with pytest.raises(SpecError) as caught:
        parse_spec(spec)
    message = str(caught.value)
    assert message.count("Extra inputs are not permitted") == 5
    assert message.endswith("; and 35 more") and len(caught.value.errors) == 40


def test_fifty_thousand_unknown_keys_cost_milliseconds_not_seconds() -> None:
    text = "name: x\n" + "".join(f"k{i}: {i}\n" for i in range(50_000))
    with pytest.raises(SpecError, match="more than 20000 values") as caught:
        parse_spec_text(text)
    assert len(str(caught.value)) < 300
    as_json = json.dumps({f"k{i}": i for i in range(50_000)})
    with pytest.raises(SpecError, match="more than 20000 keys"):
        parse_spec_text(as_json)
