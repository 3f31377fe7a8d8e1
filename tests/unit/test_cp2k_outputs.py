"""Real outputs of CP2K 2023.1, 2024.1/2024.3 and 2025.1 replayed through parse -> classify.

2025.1 changed the energy and force lines, and from 2024.1 an unconverged SCF aborts the run
(non-zero exit) where 2023.1 warned and exited 0: both must still read as the same labels and
the same failure classes. The 2024.1 and 2025.1 files are one Si8 cell computed by both
releases, so their numbers must agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.cp2k_fixtures import fake_installation
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k import units
from wise_al.cp2k.failures import Failure, classify_failure
from wise_al.cp2k.installation import Cp2kUnavailable
from wise_al.cp2k.level import preflight
from wise_al.cp2k.parse import Cp2kOutput, parse_output
from wise_al.cp2k.rescue import climbs
from wise_al.cp2k.run import RunOutcome

OUTPUTS = Path(__file__).resolve().parents[1] / "data" / "cp2k_outputs"


def _replay(name: str, returncode: int = 0) -> tuple[Failure | None, Cp2kOutput]:
    path = OUTPUTS / name
    text = path.read_text()
    output = parse_output(text)
    return classify_failure(RunOutcome(returncode, False, 1.0, path), output, text), output


def test_the_same_cell_reads_the_same_in_2024_1_and_2025_1() -> None:
    old_failure, old = _replay("2024.1_energy_force_aim2dat.out")
    new_failure, new = _replay("2025.1_energy_force_aim2dat.out")
    assert old_failure is None and new_failure is None
    for output, version in ((old, "2024.1"), (new, "2025.1")):
        assert output.version == f"CP2K version {version}"
        assert output.complete and output.scf_converged and output.scf_steps == 10
    # "[a.u.]:" and "[hartree]" headers, the same number (to the printed digits)
    assert old.energy_eV == pytest.approx(units.energy_eV(-31.297885372784116), abs=1e-12)
    assert new.energy_eV == pytest.approx(old.energy_eV, abs=1e-9)
    # the old table prints 8 decimals, the new rows 8 significant digits
    assert new.forces_eV_per_A is not None and old.forces_eV_per_A is not None
    assert new.forces_eV_per_A.shape == old.forces_eV_per_A.shape == (8, 3)
    atol = units.forces_eV_per_A(np.array(1e-8))
    np.testing.assert_allclose(new.forces_eV_per_A, old.forces_eV_per_A, atol=float(atol))
    assert new.forces_eV_per_A[0, 0] == pytest.approx(
        units.forces_eV_per_A(np.array(4.81711300e-09))
    )


def test_2025_1_aborts_on_an_unconverged_scf_and_the_ladder_climbs() -> None:
    failure, output = _replay("2025.1_md_scf_not_converged_abort_aim2dat.out", returncode=1)
    assert failure is Failure.SCF_NOT_CONVERGED and climbs(failure)
    assert not output.scf_converged and not output.complete
    # the same text with exit 0 but no final banner stays a truncated output
    assert _replay("2025.1_md_scf_not_converged_abort_aim2dat.out")[0] is Failure.TRUNCATED_OUTPUT


def test_2023_1_warns_on_an_unconverged_scf_and_exits_0() -> None:
    failure, output = _replay("2023.1_xtb_scf_not_converged.out")
    assert failure is Failure.SCF_NOT_CONVERGED and climbs(failure)
    assert output.complete and output.energy_eV is not None
    good, label = _replay("2023.1_xtb_energy_force_stress.out")
    assert good is None and label.forces_eV_per_A is not None
    assert label.forces_eV_per_A.shape == (12, 3)
    # CP2K prints +5.373 GPa as 1/3 trace (compression positive): our pressure is that
    stress = label.stress_eV_per_A3
    assert stress is not None
    assert -np.trace(stress) / 3 / units.GPA_IN_EV_PER_A3 == pytest.approx(5.37347996912, rel=1e-9)


def test_2024_3_inner_and_outer_loops_are_counted() -> None:
    failure, output = _replay("2024.3_geo_opt_aiida-cp2k.out")
    assert output.version == "CP2K version 2024.3" and output.energy_eV is not None
    assert output.scf_converged and output.scf_steps and output.scf_steps > 40
    assert failure is None or failure is Failure.NO_FORCES  # a GEO_OPT prints no force table


@pytest.mark.parametrize("version", ["2022.2", "2026.1", "9.1"])
def test_a_cp2k_release_the_parser_does_not_know_is_refused_before_labelling(
    version: str, tmp_path: Path
) -> None:
    with pytest.raises(Cp2kUnavailable, match=f"CP2K {version} at .*reads the output of CP2K"):
        preflight(LabellingSpec(), ["H", "O"], fake_installation(tmp_path, version))
    preflight(LabellingSpec(), ["H", "O"], fake_installation(tmp_path, "2025.1"))


def test_a_result_stored_with_cp2ks_stress_sign_loads_converted(tmp_path: Path) -> None:
    """Label results cached before the stress convention existed hold CP2K's sign."""
    import json

    from wise_al.cp2k.label import LabelResult

    old = {"level_of_theory": {}, "level_sha256": "a" * 64, "directory": str(tmp_path),
           "energy_eV": -1.0, "forces_eV_per_A": [[0.0, 0.0, 0.0]],
           "stress_eV_per_A3": [[0.01, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 0.03]],
           "attempts": []}  # fmt: skip
    (tmp_path / "result.json").write_text(json.dumps(old))
    loaded = LabelResult.load(tmp_path / "result.json")
    assert loaded.stress_convention == "dE_dstrain"
    assert loaded.stress_eV_per_A3 == [
        [-0.01, -0.0, -0.0],
        [-0.0, -0.02, -0.0],
        [-0.0, -0.0, -0.03],
    ]
    new = {**old, "stress_convention": "dE_dstrain"}
    (tmp_path / "result.json").write_text(json.dumps(new))
    assert LabelResult.load(tmp_path / "result.json").stress_eV_per_A3 == old["stress_eV_per_A3"]
