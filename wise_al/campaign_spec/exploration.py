"""Sections that decide where the model is wrong: exploration, uncertainty, flags, selection."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from wise_al.campaign_spec.base import (
    Dispersion,
    Driver,
    Ensemble,
    Seed,
    StrictModel,
    check_pair_keys,
    parse_element_pair,
)
from wise_al.campaign_spec.model import DatasetName
from wise_al.selection.registry import STRATEGIES, StrategyName

#: Default species-pair minimum distances in Å, between molecules. Li-Li 2.6 Å is our own
#: default (to calibrate): from-scratch models invent shorter Li+-Li+ contacts than DFT ever
#: samples. O-O 1.9 Å sits far below the shortest hydrogen bond (~2.4 Å) and below packmol's
#: 2 Å packing tolerance, so freshly packed cells are not flagged.
DEFAULT_MIN_DISTANCE_A = {"Li-Li": 2.6, "Li-O": 1.6, "O-O": 1.9}

#: Covalent bonds whose integrity is checked in water and TFSI.
DEFAULT_BONDS = ["O-H", "S-N", "S-O", "S-C", "C-F"]


class ExplorationSpec(StrictModel):
    """Committee MD walkers: ensemble, time step, how long each iteration explores."""

    ensemble: Ensemble = "NVT"
    timestep_fs: Annotated[float, Field(gt=0, le=5)] = 0.5
    steps_per_iteration: Annotated[
        list[Annotated[int, Field(ge=1, le=100_000_000)]], Field(min_length=1, max_length=100)
    ] = Field(
        default_factory=lambda: [1000, 2000, 5000],
        description="steps of iteration n = schedule[min(n, len-1)], so the schedule can grow",
    )
    save_interval_steps: Annotated[int, Field(ge=1)] = 10
    friction_per_fs: Annotated[float, Field(gt=0, le=1)] = 0.01
    driver: Driver = "committee_mean"
    start: Literal["continue", "packed", "equilibrated", "structures"] = Field(
        default="continue",
        description="walkers continue from the previous iteration's last intact frame (their "
        "own walker's, else its validation MD's; iteration 0 packs), so MD time accumulates; "
        "or start from a fresh packmol cell, from the campaign's shared equilibrated cell "
        "(once a validation made one), or from the frames of the uploaded start_structures "
        "dataset (walker k takes frame k modulo their number). Always with fresh velocities, "
        "and never from a cell the flags call broken (a packed one is made instead)",
    )
    start_structures: DatasetName | None = Field(
        default=None, description="an uploaded structures dataset (start: structures)"
    )
    early_stop_on_flags: bool = True
    dispersion: Dispersion = Field(
        default="none",
        description="Grimme D3 added to the committee's forces at MD time (simple-dftd3); "
        "must match validation.dispersion, and is refused over labels that hold D3",
    )
    dispersion_functional: Annotated[str, Field(pattern=r"^[A-Za-z0-9_+-]{1,32}$")] = "pbe"
    device: Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d{1,3})?)$")] = "auto"

    @model_validator(mode="after")
    def _saves_something(self) -> ExplorationSpec:
        if (self.start == "structures") != (self.start_structures is not None):
            raise ValueError(
                "start 'structures' and start_structures go together: name the uploaded "
                "structures dataset walkers start from"
            )
        shortest = min(self.steps_per_iteration)
        if self.save_interval_steps > shortest:
            raise ValueError(
                f"save_interval_steps ({self.save_interval_steps}) exceeds the shortest "
                f"iteration ({shortest} steps): no frame would be saved"
            )
        return self

    def steps_for(self, iteration: int) -> int:
        """MD steps of ``iteration`` (0-based) under the schedule."""
        return self.steps_per_iteration[min(iteration, len(self.steps_per_iteration) - 1)]


class UncertaintySpec(StrictModel):
    """Trust window on the committee's max per-atom force deviation, in eV/Å, and when a
    committee's deviation counts as a measure of its error (its calibration)."""

    trust_lo_eV_per_A: Annotated[float, Field(gt=0, le=100)] = 0.05
    trust_hi_eV_per_A: Annotated[float, Field(gt=0, le=100)] = 0.15
    rescale: Literal["calibration", "none"] = Field(
        default="calibration",
        description="calibration: the deviation is multiplied by the latest calibration's "
        "fitted slope (true error ≈ slope × σ) before the window applies, so the window "
        "is in units of error; none: the raw deviation",
    )
    adaptive_candidate_share: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=None,
        description="DP-GEN's adaptive lower level: each iteration trust_lo is set so that "
        "this share of the judged, unflagged frames are candidates (the frames the "
        "committee doubts most below trust_hi); None: trust_lo as given",
    )
    min_rank_correlation: Annotated[float, Field(ge=-1, le=1)] = Field(
        default=0.3,
        description="a committee is calibrated only if the Spearman correlation of its "
        "per-atom deviation with the true error on fresh labels reaches this",
    )
    max_slope_factor: Annotated[float, Field(ge=1, le=1000)] = Field(
        default=3.0,
        description="... and only if the fitted slope (error / deviation) lies within this "
        "factor of 1: a committee whose spread is 4x below its error is not calibrated",
    )

    @model_validator(mode="after")
    def _ordered(self) -> UncertaintySpec:
        if self.trust_lo_eV_per_A >= self.trust_hi_eV_per_A:
            raise ValueError(
                f"trust_lo_eV_per_A ({self.trust_lo_eV_per_A}) must be below "
                f"trust_hi_eV_per_A ({self.trust_hi_eV_per_A})"
            )
        return self


class BondIntegritySpec(StrictModel):
    """Molecule graph from the first frame; a bond stretched past a factor or a new bond flags."""

    enabled: bool = True
    bonds: list[str] = Field(default_factory=lambda: list(DEFAULT_BONDS))
    stretch_factor: Annotated[float, Field(gt=1, le=5)] = 1.5
    detect_new_bonds: bool = True

    @field_validator("bonds")
    @classmethod
    def _pairs(cls, bonds: list[str]) -> list[str]:
        check_pair_keys(dict.fromkeys(bonds, 0.0))
        return bonds


class FlagsSpec(StrictModel):
    """Physics flags: where the model's frames are unphysical whatever the committee says."""

    min_distance_A: dict[str, Annotated[float, Field(gt=0, le=10)]] = Field(
        default_factory=lambda: dict(DEFAULT_MIN_DISTANCE_A)
    )
    bond_integrity: BondIntegritySpec = Field(default_factory=BondIntegritySpec)
    overlap_fraction: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.5, description="any pair closer than this fraction of its covalent radii sum"
    )
    max_temperature_factor: Annotated[float, Field(gt=1, le=100)] = Field(
        default=2.0, description="flag a frame hotter than this multiple of its walker's target"
    )

    _check_pairs = field_validator("min_distance_A")(classmethod(lambda cls, v: check_pair_keys(v)))

    def drop_default_rules_for_absent(self, present: set[str]) -> None:
        """Keep only the default rules whose elements are in the system (pure water has no Li).

        Rules a user wrote are kept as written, so a typo still fails validation.
        """

        def keep(key: str) -> bool:
            return set(parse_element_pair(key)) <= present

        if "min_distance_A" not in self.model_fields_set:
            self.min_distance_A = {k: v for k, v in self.min_distance_A.items() if keep(k)}
        if "bonds" not in self.bond_integrity.model_fields_set:
            self.bond_integrity.bonds = [b for b in self.bond_integrity.bonds if keep(b)]

    def elements(self) -> set[str]:
        """Every element the rules name."""
        keys = list(self.min_distance_A)
        if self.bond_integrity.enabled:
            keys += self.bond_integrity.bonds
        return {el for key in keys for el in parse_element_pair(key)}


class SelectionSpec(StrictModel):
    """How many and which frames go to DFT each iteration.

    ``strategy`` names one of :data:`wise_al.selection.registry.STRATEGIES`: ``committee``
    is active learning, the others its baselines at the same budget.
    """

    strategy: StrategyName = Field(
        default="committee",
        description="; ".join(f"{s.name}: {s.description}" for s in STRATEGIES.values()),
    )
    budget_per_iteration: Annotated[int, Field(ge=1, le=100_000)] = 50
    diversity: bool = True
    near_duplicate_distance: Annotated[float, Field(ge=0, le=10)] = Field(
        default=0.05, description="standardized descriptor distance under which frames are twins"
    )
    seed: Seed = 0
    onset_frames: Annotated[int, Field(ge=0, le=100)] = Field(
        default=3,
        description="frames before the first breaking frame of a trajectory (a Li+ contact, "
        "a broken molecule) kept with it as candidates, whatever the committee says; frames "
        "after the break are not candidates",
    )
    audit_frames: Annotated[int, Field(ge=0, le=1000)] = Field(
        default=2,
        description="of the budget, frames drawn at random each iteration from those the "
        "committee called accurate or failed (strategy committee): their labels show "
        "whether it was right, so calibration sees every class and 'missed' is measured",
    )
