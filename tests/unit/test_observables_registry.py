"""The observables registry: what is declared is computed, shown, summarised and graded, and
nothing else; the metrics' errors against hand values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from rich.console import Console

from services.api.schemas import SUMMARY_OBSERVABLES
from tests.support.factories import example_spec, spreading_frames, with_value
from wise_al.campaign_spec import CampaignSpec
from wise_al.cli.output import validations_table
from wise_al.observables.registry import GRADED, METRICS, OBSERVABLES, THRESHOLD_SETS
from wise_al.observables.report import comparison_rows, observe
from wise_al.observables.scores import observable_values
from wise_al.systems.cells import pack_cell


@pytest.fixture(scope="module")
def report() -> dict:
    cell = pack_cell({"LiTFSI": 2, "H2O": 5}, density_g_per_cm3=1.7126, seed=0)
    return observe(spreading_frames(cell, 12, 0.05), frame_interval_fs=5.0)


def test_every_declared_observable_is_computed_and_summarised(report: dict) -> None:
    for observable in OBSERVABLES.values():
        assert observable.value(report) is not None, observable.key
        if observable.read is None:
            assert observable.key in SUMMARY_OBSERVABLES
        if observable.stderr_key:
            assert observable.stderr_key in report and observable.stderr_key in SUMMARY_OBSERVABLES
    # the Li⁺ self-diffusion is read from the diffusion block, not a copy of it
    assert OBSERVABLES["diffusion_li"].value(report) == report["diffusion_A2_per_ps"]["Li+"]["d"]
    labels = [name for name, _, _ in comparison_rows(report)]
    assert labels == [o.label for o in OBSERVABLES.values()]


def test_the_validation_table_shows_the_li_diffusion_with_its_block_error() -> None:
    observables = {
        "density_g_per_cm3": 1.70123,
        "density_stderr_g_per_cm3": 0.0042,
        "diffusion_A2_per_ps": {"Li+": {"d": 0.01234, "stderr": 0.00056}},
    }
    validation = {"iteration_index": 3, "observables": observables, "scores": [], "status": "done"}
    console = Console(record=True, width=250)
    console.print(validations_table([validation]))
    text = console.export_text()
    assert "D Li+ (Å²/ps)" in text
    assert "0.0123 ± 0.0006" in text and "1.7012 ± 0.0042" in text
    assert "–" in text  # what the run did not measure says so


def test_metric_errors_against_hand_values() -> None:
    report = {
        "density_g_per_cm3": 1.80,
        "cn_li_o_water": 2.0,
        "cn_li_o_tfsi": 2.2,
        "sq_r_factor": 0.05,
        "li_li_contact_fraction": 0.25,
        "density_ensemble": "NPT",
        "sq_min_q_per_A": 0.2,
    }
    values = observable_values(report)
    # 1.80 / 1.7126 - 1 = 5.1034 %; CN against the r2SCAN 2.4 / 1.9 theory references
    assert values["density_error_percent"] == pytest.approx(5.1034, abs=1e-4)
    assert values["cn_li_o_water_error"] == pytest.approx(0.4)
    assert values["cn_li_o_tfsi_error"] == pytest.approx(0.3)
    assert values["sq_r_factor"] == 0.05 and values["li_li_contact_fraction"] == 0.25
    assert set(values) == set(METRICS)
    # the contact fraction is a stopping rule's target, not a grade
    assert [m.key for m in GRADED] == list(THRESHOLD_SETS["ml-peg-pr445"])
    assert "li_li_contact_fraction" not in THRESHOLD_SETS["ml-peg-metrics"]


def test_a_stopping_rule_names_only_a_declared_metric() -> None:
    spec = with_value(example_spec(), "stopping.observable_targets", {"sq_r_factor": 0.1})
    assert CampaignSpec.model_validate(spec).stopping.observable_targets == {"sq_r_factor": 0.1}
    wrong = with_value(example_spec(), "stopping.observable_targets", {"d_li": 0.1})
    with pytest.raises(ValidationError) as error:
        CampaignSpec.model_validate(wrong)
    assert "d_li" in str(error.value) and "cn_li_o_tfsi_error" in str(error.value)
