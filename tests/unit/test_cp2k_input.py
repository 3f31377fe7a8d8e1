"""CP2K inputs, levels of theory, safety checks and the wavefunction library (no CP2K run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from tests.support.cp2k_fixtures import fake_installation, li_water, needs_cp2k
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.campaign_spec.overrides import ALLOWED
from wise_al.cp2k.input import PROTECTED_PATHS, build_input, merge, render_input
from wise_al.cp2k.installation import Cp2kUnavailable, detect
from wise_al.cp2k.level import level_of_theory, preflight
from wise_al.cp2k.rescue import LADDER, Rung, prepare
from wise_al.cp2k.run import UnsafeInput, check_contained
from wise_al.cp2k.wavefunctions import WavefunctionLibrary
from wise_al.errors import WiseAlError
from wise_al.systems.labelable import structure_problem
from wise_al.systems.levels import MixedLevelsError, sha256_of, single_level


def _water() -> Atoms:
    atoms = molecule("H2O")
    atoms.cell = [6.0, 6.0, 6.0]
    atoms.pbc = True
    return atoms


@pytest.mark.slow
@needs_cp2k
@pytest.mark.parametrize("functional", ["PBE", "revPBE", "BLYP", "r2SCAN"])
@pytest.mark.parametrize("dispersion", ["none", "D3", "D3BJ"])
def test_every_dft_level_renders_input_the_installed_cp2k_accepts(
    functional: str, dispersion: str
) -> None:
    cp2k = detect()
    if functional == "r2SCAN" and dispersion == "D3":
        # zero-damping D3 has no r2SCAN parameters: refused when the spec is read
        with pytest.raises(ValueError, match=r"r2SCAN takes D3BJ"):
            LabellingSpec(method="dft", functional=functional, dispersion=dispersion)
        return
    spec = LabellingSpec(method="dft", functional=functional, dispersion=dispersion)
    preflight(spec, ["H", "O"], cp2k)
    text = render_input(build_input(spec, _water()))
    for rung in LADDER:
        cp2k.validate(render_input(prepare(build_input(spec, _water()), rung, has_guess=True)))
    if functional == "r2SCAN":  # SCAN pseudopotentials with the basis optimised for them
        assert "POTENTIAL GTH-SCAN-q6" in text and "BASIS_SET DZVP-MOLOPT-SCAN-GTH-q6" in text
        assert "CUTOFF 1000.0" in text
    else:
        family = "GTH-BLYP" if functional == "BLYP" else "GTH-PBE"
        assert f"POTENTIAL {family}-q6" in text and "BASIS_SET DZVP-MOLOPT-SR-GTH" in text
        assert "CUTOFF 600.0" in text
    assert ("DFTD3(BJ)" in text) == (dispersion == "D3BJ")
    builtin = dispersion != "none" and functional != "r2SCAN"
    assert ("REFERENCE_FUNCTIONAL" in text) == builtin
    assert ("D3BJ_SCALING" in text) == (functional == "r2SCAN" and dispersion == "D3BJ")
    assert "STRESS_TENSOR ANALYTICAL" in text and "REL_CUTOFF 60.0" in text


@needs_cp2k
def test_preflight_names_a_basis_the_build_does_not_have() -> None:
    spec = LabellingSpec(method="dft", basis_per_element={"O": "QZV9-NOT-A-BASIS"})
    with pytest.raises(Cp2kUnavailable, match=r"labelling\.basis: .*QZV9-NOT-A-BASIS.* for O"):
        preflight(spec, ["H", "O"], detect())


@needs_cp2k
def test_the_installed_spec_refuses_what_cp2k_would_refuse() -> None:
    text = render_input(build_input(LabellingSpec(), li_water()))
    detect().validate(text)
    broken = text.replace("MAX_SCF", "NOT_A_KEYWORD 1\n         MAX_SCF")
    with pytest.raises(WiseAlError, match=r"CP2K 2023\.1 refuses the input: .*NOT_A_KEYWORD"):
        detect().validate(broken)


def test_charge_and_periodicity_follow_the_frame() -> None:
    cluster = li_water()
    cluster.pbc = False
    tree = build_input(LabellingSpec(), cluster)
    assert tree["force_eval"]["dft"]["charge"] == 1  # Li+ in water
    assert tree["force_eval"]["subsys"]["cell"]["periodic"] == "NONE"
    assert tree["force_eval"]["dft"]["poisson"] == {"periodic": "NONE", "psolver": "MT"}
    assert "stress_tensor" not in tree["force_eval"]  # no stress for an isolated cluster


def test_overrides_merge_into_the_generated_input() -> None:
    spec = LabellingSpec(
        cp2k_overrides={"force_eval": {"dft": {"scf": {"ot": {"minimizer": "CG"}}}}}
    )
    scf = build_input(spec, li_water())["force_eval"]["dft"]["scf"]
    assert scf["ot"] == {"minimizer": "CG", "preconditioner": "NONE"}
    assert scf["eps_scf"] == spec.eps_scf
    assert merge({"SCF": {"a": 1}}, {"&scf": {"b": 2}}) == {"SCF": {"a": 1, "b": 2}}


@pytest.mark.parametrize(
    "overrides",
    [
        {"@INCLUDE": "/etc/passwd"},
        {"force_eval": {"dft": {"scf": {"print": {"restart": {"filename": "/etc/cron.d/x"}}}}}},
        {"force_eval": {"dft": {"scf": {"print": {"restart": {"filename": "../../x"}}}}}},
        {"force_eval": {"dft": {"wfn_restart_file_name": "/tmp/other.wfn"}}},
        {"force_eval": {"dft": {"scf": {"eps_scf": "${EVIL}"}}}},
        {"force_eval": {"dft": {"xc": {"xc_functional": {"_": "BLYP"}}}}},
        {"force_eval": {"dft": {"external_potential": {"function": "X"}}}},
        {"force_eval": {"subsys": {"coord": {"*": ["H 0 0 0"]}}}},
    ],
)
def test_overrides_that_reach_outside_or_change_the_level_are_refused(overrides: dict) -> None:
    with pytest.raises(ValueError, match="cp2k_overrides"):
        LabellingSpec(cp2k_overrides=overrides)


def _every_allowed_keyword() -> dict[str, Any]:
    """One override setting every allowlisted keyword to a value inside its bounds."""
    tree: dict[str, Any] = {}
    for path, rule in ALLOWED.items():
        value: Any = {"bool": True, "choice": rule.choices[-1:]}.get(rule.kind, rule.high)
        value = value[0] if isinstance(value, tuple) else value
        section = tree
        for key in path[:-1]:
            section = section.setdefault(key.lower(), {})
        section[path[-1].lower()] = int(value) if rule.kind == "int" else value
    return tree


@pytest.mark.parametrize("method", ["xtb", "dft"])
def test_every_allowed_override_keeps_the_generated_physics(method: Literal["xtb", "dft"]) -> None:
    overrides = _every_allowed_keyword()
    plain = build_input(LabellingSpec(method=method), _water())
    tuned = build_input(LabellingSpec(method=method, cp2k_overrides=overrides), _water())
    assert tuned != plain
    for path in PROTECTED_PATHS:  # checked again by hand, not through check_merged
        node_plain: Any = plain
        node_tuned: Any = tuned
        for key in path:
            node_plain = node_plain.get(key) if isinstance(node_plain, dict) else None
            node_tuned = node_tuned.get(key) if isinstance(node_tuned, dict) else None
        assert node_plain == node_tuned, path
    assert tuned["force_eval"]["dft"]["scf"]["outer_scf"]["max_scf"] == 200


@needs_cp2k
def test_every_allowed_override_is_input_the_installed_cp2k_accepts() -> None:
    spec = LabellingSpec(method="dft", cp2k_overrides=_every_allowed_keyword())
    detect().validate(render_input(build_input(spec, _water())))


@pytest.mark.parametrize(
    "overrides",
    [
        {"force_eval": [{"dft": {"scf": {"added_mos": 1}}}]},  # replaced the whole force_eval
        {"force_eval": {"dft": {"xc": {"xc_functional": {"_": "BLYP"}}}}},
        {"force_eval": {"dft": {"mgrid": {"cutoff": 100}}}},
        {"force_eval": {"subsys": "H 0 0 0"}},
        {"force_eval": {"dft": {"scf": "x"}}},
    ],
)
def test_a_stored_override_that_changes_the_physics_never_renders(overrides: dict) -> None:
    # an override stored before today's allowlist (model_construct skips validation)
    spec = LabellingSpec.model_construct(
        **{**LabellingSpec(method="dft").model_dump(), "cp2k_overrides": overrides}
    )
    with pytest.raises(WiseAlError, match="cp2k_overrides"):
        build_input(spec, _water())


@pytest.mark.parametrize(
    "line", ["@INCLUDE /etc/passwd", "@SET X 1", "  FILENAME /tmp/x", "  A ${X}", "  F ../x"]
)
def test_input_text_that_could_leave_its_directory_is_refused(line: str) -> None:
    good = render_input(build_input(LabellingSpec(), li_water()))
    check_contained(good)
    with pytest.raises(UnsafeInput, match="line"):
        check_contained(good + line + "\n")


def test_rungs_change_the_solver_never_the_level() -> None:
    tree = build_input(LabellingSpec(method="dft"), _water())
    initial = prepare(tree, Rung.INITIAL, has_guess=False)
    assert initial == tree  # the initial rung without a guess is the input as built
    robust = prepare(tree, Rung.ROBUST, has_guess=True)
    scf = robust["force_eval"]["dft"]["scf"]
    assert (
        scf["scf_guess"] == "RESTART"
        and scf["max_scf"] == 2 * tree["force_eval"]["dft"]["scf"]["max_scf"]
    )
    assert scf["ot"]["minimizer"] == "CG"
    for key in ("xc", "mgrid", "basis_set_file_name"):
        assert robust["force_eval"]["dft"][key] == tree["force_eval"]["dft"][key]
    assert robust["force_eval"]["subsys"] == tree["force_eval"]["subsys"]


def test_level_hash_separates_dispersion_choices_and_mixing_is_refused(tmp_path: Path) -> None:
    cp2k = fake_installation(tmp_path)

    def level(dispersion: str) -> str:
        spec = LabellingSpec(method="dft", dispersion=dispersion)
        return sha256_of(level_of_theory(spec, ["H", "O"], cp2k))

    with_d3, without = level("D3"), level("none")
    assert with_d3 != without
    assert single_level([with_d3, with_d3]) == with_d3
    with pytest.raises(MixedLevelsError, match="2 levels of theory"):
        single_level([with_d3, without])
    assert single_level([with_d3, without], chosen=without) == without
    with pytest.raises(MixedLevelsError, match="no label has"):
        single_level([with_d3], chosen=without)


#: Overrides that pass the allowlist and change the numbers (not just how the SCF gets there).
PHYSICS_OVERRIDES = [
    {"force_eval": {"dft": {"qs": {"eps_default": 1e-14}}}},
    {"force_eval": {"dft": {"mgrid": {"ngrids": 5}}}},
    {"force_eval": {"dft": {"scf": {"outer_scf": {"_": True, "eps_scf": 1e-7}}}}},
]  # fmt: skip


@pytest.mark.parametrize("overrides", PHYSICS_OVERRIDES)
def test_an_override_that_changes_the_physics_changes_the_level_hash(
    overrides: dict[str, Any], tmp_path: Path
) -> None:
    cp2k = fake_installation(tmp_path)
    plain = LabellingSpec(method="dft")
    changed = LabellingSpec(method="dft", cp2k_overrides=overrides)
    record = level_of_theory(changed, ["H", "O"], cp2k)
    assert sha256_of(record) != sha256_of(level_of_theory(plain, ["H", "O"], cp2k))
    # CP2K's names are case-insensitive: one spelling, one hash
    shouted = LabellingSpec(method="dft", cp2k_overrides=_upper_keys(overrides))
    assert level_of_theory(shouted, ["H", "O"], cp2k) == record


def _upper_keys(tree: dict[str, Any]) -> dict[str, Any]:
    return {
        k.upper() if k != "_" else k: _upper_keys(v) if isinstance(v, dict) else v
        for k, v in tree.items()
    }


def test_the_build_and_every_data_file_are_part_of_the_level(tmp_path: Path) -> None:
    spec = LabellingSpec(method="dft", dispersion="D3BJ")
    cp2k = fake_installation(tmp_path)
    record = level_of_theory(spec, ["H", "O"], cp2k)
    assert set(record["data_files_sha256"]) == {
        "BASIS_MOLOPT", "BASIS_MOLOPT_UZH", "GTH_POTENTIALS", "dftd3.dat",
    }  # fmt: skip
    assert record["code_version"] == "2023.1" and record["code_build"] == "b" * 16
    base = sha256_of(record)
    other_build = fake_installation(tmp_path, build="c" * 16)
    assert sha256_of(level_of_theory(spec, ["H", "O"], other_build)) != base
    other_version = fake_installation(tmp_path, version="2024.1")
    assert sha256_of(level_of_theory(spec, ["H", "O"], other_version)) != base
    (cp2k.data_dir / "dftd3.dat").write_text("other D3 parameters\n")
    assert sha256_of(level_of_theory(spec, ["H", "O"], cp2k)) != base
    xtb = level_of_theory(LabellingSpec(), ["H", "O"], cp2k)
    assert set(xtb["data_files_sha256"]) == {"xTB_parameters", "dftd3.dat"}


def test_two_levels_are_named_with_what_differs(tmp_path: Path) -> None:
    old = level_of_theory(LabellingSpec(), ["H", "O"], fake_installation(tmp_path))
    new = level_of_theory(LabellingSpec(), ["H", "O"], fake_installation(tmp_path, "2024.1"))
    records = {sha256_of(old): old, sha256_of(new): new}
    with pytest.raises(MixedLevelsError) as refused:
        single_level(records, records=records)
    message = str(refused.value)
    assert all(level[:12] in message for level in records)
    assert "CP2K 2023.1 GFN1-xTB" in message and "CP2K 2024.1 GFN1-xTB" in message
    assert "differ in code_version" in message and "code_build" not in message


def test_structures_that_cannot_be_labelled_are_named() -> None:
    assert structure_problem(li_water()) is None
    nan = li_water()
    nan.positions[3, 1] = np.nan
    assert "not finite" in str(structure_problem(nan))
    overlap = li_water()
    overlap.positions[2] = overlap.positions[1] + [0.1, 0.0, 0.0]
    assert "atoms 1 and 2 are 0.100 Å apart" in str(structure_problem(overlap))
    no_cell = li_water()
    no_cell.cell = np.zeros((3, 3))
    no_cell.pbc = False
    assert "no 3D cell" in str(structure_problem(no_cell))


def test_the_library_returns_the_nearest_wavefunction_of_the_same_system(tmp_path: Path) -> None:
    library = WavefunctionLibrary(tmp_path, max_rmsd_A=0.3)
    base = li_water()
    wfn = tmp_path / "source.wfn"
    for shift, name in ((0.2, "far"), (0.05, "near")):
        moved = base.copy()
        moved.positions[0] += [shift * np.sqrt(len(base)), 0.0, 0.0]  # RMSD = shift
        wfn.write_bytes(name.encode())
        library.add("level", moved, wfn, scratch_scf_steps=20, source=name)
    guess = library.nearest("level", base)
    assert guess is not None and guess.source == "near" and guess.wfn.read_bytes() == b"near"
    assert guess.rmsd_A == pytest.approx(0.05) and guess.scratch_scf_steps == 20
    assert library.nearest("other-level", base) is None
    other_cell = base.copy()
    other_cell.cell = [15.0, 15.0, 15.0]
    assert library.nearest("level", other_cell) is None
    wrapped = base.copy()
    wrapped.positions[0] += base.cell[0]  # a whole cell vector away: the same frame
    assert library.nearest("level", wrapped) is not None
    far = base.copy()
    far.positions += 1.0 * np.eye(3)[0] * 0 + np.random.default_rng(1).normal(
        0, 0.5, (len(base), 3)
    )
    assert library.nearest("level", far) is None
