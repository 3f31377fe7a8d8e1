"""The campaign spec: every scientific choice of one active-learning campaign."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from wise_al.campaign_spec.base import Description, StrictModel, check_elements_present
from wise_al.campaign_spec.exploration import (
    ExplorationSpec,
    FlagsSpec,
    SelectionSpec,
    UncertaintySpec,
)
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.campaign_spec.model import ModelSpec
from wise_al.campaign_spec.system import SystemSpec
from wise_al.campaign_spec.validation import ObservableMetric, ValidationSpec

#: Version of the spec format this code reads and writes.
SCHEMA_VERSION: Literal[1] = 1

#: Most trajectory one iteration's MD may write (extxyz, all walkers), and what a saved atom
#: costs there (measured: 123 bytes with momenta and deviations; forces add a little).
TRAJECTORY_BUDGET_BYTES = 20 * 1024**3
TRAJECTORY_BYTES_PER_ATOM = 150


def _check_trajectory_budget(what: str, frames: int, atoms: int) -> None:
    estimate = frames * atoms * TRAJECTORY_BYTES_PER_ATOM
    if estimate > TRAJECTORY_BUDGET_BYTES:
        raise ValueError(
            f"{what}: {frames} saved frames of {atoms} atoms are ~{estimate / 1024**3:.0f} GiB "
            f"of trajectory per iteration; at most {TRAJECTORY_BUDGET_BYTES // 1024**3} GiB "
            "(save less often or run fewer steps)"
        )


class ReviewSpec(StrictModel):
    """Whether a person must accept selected frames before they are labelled."""

    gate: Literal["auto", "required"] = "auto"


class StoppingSpec(StrictModel):
    """When the loop stops: whichever rule is met first."""

    max_iterations: Annotated[int, Field(ge=1, le=10_000)] = 10
    accurate_ratio_target: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.9, description="stop when this fraction of the last exploration is accurate"
    )
    max_labels: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    observable_targets: dict[ObservableMetric, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="stop when the iteration's validation meets every one of these maxima",
    )


class CampaignSpec(StrictModel):
    """One exploration campaign, as a user writes it (YAML or JSON).

    Sections are validated against each other: flags and basis sets may only name elements of
    the system, so a typo is caught at submission, not hours into a run.
    """

    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="version of this format; this server reads 1"
    )
    name: Annotated[
        str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.()+-]*$")
    ]
    description: Description = ""
    system: SystemSpec = Field(default_factory=SystemSpec)
    model: ModelSpec
    exploration: ExplorationSpec = Field(default_factory=ExplorationSpec)
    uncertainty: UncertaintySpec = Field(default_factory=UncertaintySpec)
    flags: FlagsSpec = Field(default_factory=FlagsSpec)
    selection: SelectionSpec = Field(default_factory=SelectionSpec)
    labelling: LabellingSpec = Field(default_factory=LabellingSpec)
    review: ReviewSpec = Field(default_factory=ReviewSpec)
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    stopping: StoppingSpec = Field(default_factory=StoppingSpec)

    # Fields validate in declaration order, so ``system`` is in info.data when these run.
    @field_validator("exploration")
    @classmethod
    def _exploration_fits_the_disk(
        cls, exploration: ExplorationSpec, info: ValidationInfo
    ) -> ExplorationSpec:
        system = info.data.get("system")
        if system is not None:
            walkers = sum(w.replicas for w in system.walkers)
            steps = max(exploration.steps_per_iteration)
            frames = walkers * (steps // exploration.save_interval_steps)
            _check_trajectory_budget("exploration.save_interval_steps", frames, system.atom_count())
        return exploration

    @field_validator("flags")
    @classmethod
    def _flags_match_system(cls, flags: FlagsSpec, info: ValidationInfo) -> FlagsSpec:
        system = info.data.get("system")
        if system is not None:
            flags.drop_default_rules_for_absent(system.elements())
            check_elements_present(flags.elements(), system.elements(), "a flag rule")
        return flags

    @field_validator("labelling")
    @classmethod
    def _basis_matches_system(cls, labelling: LabellingSpec, info: ValidationInfo) -> LabellingSpec:
        system = info.data.get("system")
        if system is not None:
            check_elements_present(
                set(labelling.basis_per_element), system.elements(), "basis_per_element"
            )
        return labelling

    @field_validator("validation")
    @classmethod
    def _validation_fits_the_campaign(
        cls, validation: ValidationSpec, info: ValidationInfo
    ) -> ValidationSpec:
        labelling = info.data.get("labelling")
        exploration = info.data.get("exploration")
        system = info.data.get("system")
        if system is not None and validation.enabled:
            frames = validation.steps // validation.save_interval_steps
            _check_trajectory_budget("validation.save_interval_steps", frames, system.atom_count())
        if labelling is not None:
            # GFN1-xTB carries its own D3 dispersion: its labels include it as DFT-D3 ones do
            in_labels = "GFN1-xTB's own D3" if labelling.method == "xtb" else labelling.dispersion
            at_md = [
                (name, d)
                for name, d in (
                    ("validation.dispersion", validation.dispersion),
                    ("exploration.dispersion", exploration.dispersion if exploration else "none"),
                )
                if d != "none"
            ]
            if in_labels != "none" and at_md:
                name, added = at_md[0]
                raise ValueError(
                    f"dispersion: the labels include {in_labels} already; adding "
                    f"{added} at MD time ({name}) counts it twice"
                )
        if (
            exploration is not None
            and validation.enabled
            and (
                (exploration.dispersion, exploration.dispersion_functional)
                != (validation.dispersion, validation.dispersion_functional)
            )
        ):
            raise ValueError(
                f"dispersion: exploration adds {exploration.dispersion} and validation "
                f"{validation.dispersion} at MD time: the potential explored would not be the "
                "one validated; set both the same"
            )
        if (
            exploration is not None
            and exploration.start == "equilibrated"
            and not validation.enabled
        ):
            raise ValueError(
                "exploration.start 'equilibrated' needs validation.enabled: true "
                "(the validation equilibrates the shared cell)"
            )
        return validation

    @field_validator("stopping")
    @classmethod
    def _targets_need_validation(cls, stopping: StoppingSpec, info: ValidationInfo) -> StoppingSpec:
        validation = info.data.get("validation")
        if stopping.observable_targets and validation is not None and not validation.enabled:
            raise ValueError(
                "observable_targets need validation.enabled: true (nothing measures them)"
            )
        imposed = validation is not None and validation.ensemble == "NVT"
        if "density_error_percent" in stopping.observable_targets and imposed:
            raise ValueError(
                "observable_targets: density_error_percent needs validation.ensemble: NPT "
                "(an NVT run keeps the density it was given: nothing measures it)"
            )
        return stopping
