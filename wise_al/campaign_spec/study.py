"""A study: one base campaign and named variants of it, compared side by side.

The paper's comparison (foundation out of the box, from scratch, fine-tuned; D3 or not) and
ours (active learning against random and uniform selection) as one request: every variant
becomes a campaign whose spec is the base with the variant's changes, each replicated over
the study's seeds. Variants share the base's external test set and validation protocol (a
variant may change the MD-time dispersion, nothing else of it), so their numbers compare.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from wise_al.campaign_spec.base import Description, Dispersion, Seed, StrictModel
from wise_al.campaign_spec.campaign import CampaignSpec
from wise_al.campaign_spec.model import Strategy
from wise_al.errors import SpecError
from wise_al.selection.registry import StrategyName

VariantName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=40)]
#: What every variant shares with the base, so their scores are on the same footing.
SHARED = ("model.training.external_test_set", "validation")


def set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    """``tree["a"]["b"] = value`` for ``path`` ``"a.b"``, creating sections on the way."""
    *parents, leaf = path.split(".")
    node = tree
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"{path}: {part} is not a section")
        node = child
    node[leaf] = value


class VariantSpec(StrictModel):
    """How one variant differs from the base."""

    strategy: Strategy | None = Field(
        default=None,
        description="from_scratch, fine_tune_naive, fine_tune_multihead or foundation",
    )
    selection: StrategyName | None = Field(
        default=None, description="selection strategy: active learning or a baseline"
    )
    dispersion: Dispersion | None = Field(
        default=None,
        description="D3 added at MD time (exploration and validation MD); labels unchanged",
    )
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="any other field of the campaign spec by dotted path, e.g. "
        "{'selection.budget_per_iteration': 8}",
    )


class StudySpec(StrictModel):
    """A study as a user writes it (YAML or JSON)."""

    schema_version: Literal[1] = 1
    name: Annotated[
        str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.()+-]*$")
    ]
    description: Description = ""
    base: dict[str, Any] = Field(description="the campaign spec every variant starts from")
    variants: Annotated[dict[VariantName, VariantSpec], Field(min_length=1, max_length=32)]
    seeds: Annotated[list[Seed], Field(min_length=1, max_length=10)] = Field(
        default_factory=lambda: [0],
        description="each variant runs once per seed (training and selection seeds)",
    )


def _shared(spec: CampaignSpec) -> dict[str, Any]:
    """The values of :data:`SHARED` in a validated spec, by dotted path."""
    found = {}
    for path in SHARED:
        value: Any = spec.model_dump()
        for part in path.split("."):
            value = value[part]
        found[path] = value
    return found


def _variant_spec(tree: dict[str, Any], changes: dict[str, Any]) -> CampaignSpec:
    tree = copy.deepcopy(tree)
    for path, value in changes.items():
        set_path(tree, path, value)
    return CampaignSpec.model_validate(tree)


def campaign_name(study: StudySpec, variant: str, seed: int) -> str:
    """The campaign name of one variant and seed."""
    suffix = f"-s{seed}" if len(study.seeds) > 1 else ""
    return f"{study.name}-{variant}{suffix}"


def expand_study(study: StudySpec) -> dict[tuple[str, int], CampaignSpec]:
    """The campaign spec of every (variant, seed), each validated.

    Raises
    ------
    SpecError
        Naming ``variants.<name>`` and the field, when a variant's spec is invalid.
    """
    specs: dict[tuple[str, int], CampaignSpec] = {}
    for name, variant in study.variants.items():
        for seed in study.seeds:
            tree = copy.deepcopy(study.base)
            tree["name"] = campaign_name(study, name, seed)
            changes: dict[str, Any] = {"model.training.seed": seed, "selection.seed": seed}
            if variant.strategy is not None:
                changes["model.strategy"] = variant.strategy
                if variant.strategy == "foundation":  # the foundation alone: nothing to train
                    changes |= {"model.committee_size": 1, "model.initial_dataset": None}
            if variant.selection is not None:
                changes["selection.strategy"] = variant.selection
            if variant.dispersion is not None:  # the potential's, in every MD it runs
                changes["validation.dispersion"] = variant.dispersion
                changes["exploration.dispersion"] = variant.dispersion
            try:
                spec = _variant_spec(tree, changes | variant.set)
                # checked after merging: `set` may replace a whole section holding them
                shared = _shared(_variant_spec(tree, changes)) if variant.set else {}
                for path, value in shared.items():
                    if _shared(spec)[path] != value:
                        raise ValueError(
                            f"set changes {path}: every variant shares the base's external "
                            "test set and validation protocol (only `dispersion` may differ)"
                        )
                specs[(name, seed)] = spec
            except (ValidationError, ValueError) as exc:
                errors = (
                    exc.errors(include_url=False, include_input=False)
                    if isinstance(exc, ValidationError)
                    else [{"loc": (), "msg": str(exc)}]
                )
                first = errors[0]
                where = ".".join(str(p) for p in first["loc"])
                message = str(first["msg"]).removeprefix("Value error, ")
                loc = ["variants", name, *first["loc"]]
                raise SpecError(
                    f"variants.{name}: {where + ': ' if where else ''}{message}",
                    [{"loc": loc, "msg": message, "type": "study_variant"}],
                ) from None
    return specs
