"""r2SCAN done right: SCAN pseudopotentials and basis, and r2SCAN-D3(BJ) that CP2K applies.

CP2K 2023.1 has no r2SCAN entry in its D3 table, so the published parameters go in through
D3BJ_SCALING. The independent check of that keyword's order (s6, a1, s8, a2): PBE's own
D3(BJ) parameters given the same way reproduce CP2K's built-in PBE-D3(BJ) dispersion energy.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ase import Atoms
from ase.build import molecule

from tests.support.cp2k_fixtures import needs_cp2k
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k import units
from wise_al.cp2k.input import build_input, render_input
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.level import R2SCAN_D3BJ
from wise_al.cp2k.run import LaunchProfile, run_cp2k

pytestmark = [needs_cp2k, pytest.mark.slow]

#: Grimme, Ehrlich, Goerigk, J. Comput. Chem. 32, 1456 (2011): PBE-D3(BJ) s6, a1, s8, a2.
PBE_D3BJ = (1.0, 0.4289, 0.7875, 4.4407)
_DISPERSION = re.compile(r"Dispersion energy:\s+(\S+)")


def _water() -> Atoms:
    water = molecule("H2O")
    water.cell = [5.0, 5.0, 5.0]
    water.center()
    water.pbc = True
    return water


def _dispersion_hartree(tree: dict[str, object], work: Path) -> float:
    outcome = run_cp2k(render_input(tree), work, LaunchProfile())
    found = _DISPERSION.findall(outcome.output.read_text())
    assert outcome.returncode == 0 and found, outcome.output
    return float(found[-1])


def test_d3bj_scaling_takes_s6_a1_s8_a2_in_that_order(tmp_path: Path) -> None:
    spec = LabellingSpec(method="dft", dispersion="D3BJ", cutoff_Ry=300)
    builtin = build_input(spec, _water())
    explicit = build_input(spec, _water())
    pair = explicit["force_eval"]["dft"]["xc"]["vdw_potential"]["pair_potential"]
    del pair["reference_functional"]
    pair["d3bj_scaling"] = " ".join(f"{v:.8f}" for v in PBE_D3BJ)
    reference = _dispersion_hartree(builtin, tmp_path / "builtin")
    assert reference < 0
    assert _dispersion_hartree(explicit, tmp_path / "explicit") == pytest.approx(
        reference, rel=1e-6
    )


def test_r2scan_d3bj_labels_with_scan_pseudopotentials(tmp_path: Path) -> None:
    cp2k = detect()
    store = tmp_path / "labels"
    plain = LabellingSpec(method="dft", functional="r2SCAN", cutoff_Ry=500)
    with_d3 = LabellingSpec(method="dft", functional="r2SCAN", dispersion="D3BJ", cutoff_Ry=500)
    assert LabellingSpec(method="dft", functional="r2SCAN").cutoff_Ry == 1000  # the default
    results = [Labeller(s, cp2k, LaunchProfile(), store).label(_water()) for s in (plain, with_d3)]
    assert all(r.ok for r in results), [r.attempts for r in results]
    record = results[1].level_of_theory
    assert record["pseudopotential"] == {"H": "GTH-SCAN-q1", "O": "GTH-SCAN-q6"}
    assert record["basis"] == {"H": "DZVP-MOLOPT-SCAN-GTH-q1", "O": "DZVP-MOLOPT-SCAN-GTH-q6"}
    assert tuple(record["dispersion_parameters"].values()) == R2SCAN_D3BJ
    output = Path(results[1].directory, results[1].attempts[-1].directory, "label.out").read_text()
    dispersion_eV = units.energy_eV(float(_DISPERSION.findall(output)[-1]))
    assert dispersion_eV < 0
    # the two labels differ by the dispersion energy (same SCF otherwise, within eps_scf)
    assert results[0].energy_eV is not None and results[1].energy_eV is not None
    difference = results[1].energy_eV - results[0].energy_eV
    assert difference == pytest.approx(dispersion_eV, abs=2e-4)


def test_d3_added_at_md_time_matches_cp2k_own_d3(tmp_path: Path) -> None:
    """simple-dftd3 (what `wise-al md --dispersion d3bj` adds) against CP2K's PBE-D3(BJ)."""
    from dftd3.ase import DFTD3

    tree = build_input(LabellingSpec(method="dft", dispersion="D3BJ", cutoff_Ry=300), _water())
    cp2k_eV = units.energy_eV(_dispersion_hartree(tree, tmp_path))
    water = _water()
    water.calc = DFTD3(method="pbe", damping="d3bj")
    # the codes cut the periodic sum at different radii: 0.15 % apart on this 5 Å cell
    assert water.get_potential_energy() == pytest.approx(cp2k_eV, rel=5e-3)
