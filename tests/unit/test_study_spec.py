"""A study expands into one valid campaign spec per variant and seed, or names what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.factories import example_spec
from wise_al.campaign_spec.study import StudySpec, expand_study
from wise_al.errors import SpecError


def study(variants: dict[str, Any], **fields: Any) -> StudySpec:
    base = example_spec()
    base["labelling"] = {"method": "dft", "functional": "PBE"}  # no dispersion in the labels
    return StudySpec.model_validate({"name": "paper", "base": base, "variants": variants} | fields)


def test_variants_change_only_what_they_name_and_foundation_trains_nothing() -> None:
    specs = expand_study(
        study(
            {
                "fine_tuned": {},
                "foundation": {"strategy": "foundation"},
                "random": {"selection": "random", "set": {"selection.budget_per_iteration": 7}},
                "d3": {"dispersion": "d3bj"},
            }
        )
    )
    assert set(specs) == {("fine_tuned", 0), ("foundation", 0), ("random", 0), ("d3", 0)}
    tuned, foundation = specs[("fine_tuned", 0)], specs[("foundation", 0)]
    assert tuned.name == "paper-fine_tuned" and tuned.model.strategy == "fine_tune_naive"
    assert (foundation.model.strategy, foundation.model.committee_size) == ("foundation", 1)
    random = specs[("random", 0)]
    assert random.selection.strategy == "random" and random.selection.budget_per_iteration == 7
    assert specs[("d3", 0)].validation.dispersion == "d3bj"
    # what a variant does not name stays the base's
    assert random.system == tuned.system and random.labelling == tuned.labelling


def test_seeds_replicate_every_variant_with_its_own_training_and_selection_seed() -> None:
    specs = expand_study(study({"a": {}, "b": {"selection": "uniform"}}, seeds=[0, 5]))
    assert sorted(specs) == [("a", 0), ("a", 5), ("b", 0), ("b", 5)]
    five = specs[("b", 5)]
    assert five.name == "paper-b-s5"
    assert (five.model.training.seed, five.selection.seed) == (5, 5)


def test_a_bad_variant_is_named_with_its_field() -> None:
    with pytest.raises(SpecError) as refused:
        expand_study(study({"ok": {}, "broken": {"set": {"model.committee_size": 99}}}))
    assert str(refused.value).startswith("variants.broken: model.committee_size:")
    # D3 at MD time over labels that hold D3 already counts it twice
    doubled = study({"twice": {"dispersion": "d3bj", "set": {"labelling.dispersion": "D3"}}})
    with pytest.raises(SpecError, match=r"variants.twice: validation: .*counts it twice"):
        expand_study(doubled)


def test_variants_share_the_test_set_and_the_validation_protocol() -> None:
    """Checked after merging: replacing a whole section that holds them counts too."""
    model = example_spec()["model"]
    training = {**model["training"], "external_test_set": "data/other-test.extxyz"}
    validation = {**example_spec()["validation"], "steps": 1234}
    changes = [
        {"model.training.external_test_set": "data/other-test.extxyz"},
        {"model.training": training},
        {"model": {**model, "training": training}},
        {"validation.steps": 1234},
        {"validation": validation},
    ]
    for change in changes:
        with pytest.raises(SpecError, match=r"variants.x: set changes (model.training|validat)"):
            expand_study(study({"x": {"set": change}}))
    # whole sections that leave them as they were are fine
    same = {"model": {**model, "committee_size": 3}, "validation": example_spec()["validation"]}
    spec = expand_study(study({"x": {"set": same}}))[("x", 0)]
    assert spec.model.committee_size == 3 and spec.validation.steps == 1000
    with pytest.raises(ValueError, match="at least 1"):
        study({})


def test_the_label_efficiency_full_loop_study_expands_to_its_arms() -> None:
    path = Path(__file__).parents[2] / "benchmarks" / "label_efficiency" / "full_loop.yaml"
    specs = expand_study(StudySpec.model_validate(yaml.safe_load(path.read_text())))
    arms = {variant for variant, _ in specs}
    assert arms == {"committee", "random", "uniform"}
    assert {spec.selection.strategy for spec in specs.values()} == arms
    assert {spec.stopping.max_labels for spec in specs.values()} == {64}
    assert {spec.model.committee_size for spec in specs.values()} == {4}
