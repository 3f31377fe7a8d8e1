"""The ``model`` section: which potential the committee starts from and how it is trained."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from wise_al.campaign_spec.base import Seed, StrictModel

#: Foundation model names mace's own loader resolves (``mace.calculators.mace_mp(model=...)``).
#: Kept as data so the API can validate a spec without importing mace.
MACE_FOUNDATION_NAMES = frozenset(
    {
        "small",
        "medium",
        "large",
        "small-0b",
        "medium-0b",
        "small-0b2",
        "medium-0b2",
        "large-0b2",
        "medium-0b3",
        "medium-mpa-0",
        "medium-omat-0",
        "small-omat-0",
        "mace-matpes-pbe-0",
        "mace-matpes-r2scan-0",
        "mh-0",
        "mh-1",
    }
)

MODEL_FILE_SUFFIXES = (".model", ".pt", ".pth")
DATA_FILE_SUFFIXES = (".xyz", ".extxyz")


def check_home_path(value: str, suffixes: tuple[str, ...]) -> str:
    """A relative path inside WISE_AL_HOME (where workers resolve it), with a known suffix.

    Absolute paths and ``..`` are refused: a spec must not choose which file on a worker
    gets unpickled (model files are pickles) or read.
    """
    path = PurePosixPath(value)
    if not value.endswith(suffixes) or path.name in {"", *suffixes}:
        raise ValueError(f"{value!r} must be a file ending in {' or '.join(suffixes)}")
    if path.is_absolute() or ".." in path.parts or any(c in value for c in ":\\~"):
        raise ValueError(
            f"{value!r} must be relative to WISE_AL_HOME without '..' (e.g. models/x.model)"
        )
    return value


Strategy = Literal["fine_tune_naive", "fine_tune_multihead", "from_scratch", "foundation"]

#: A dataset's name as uploaded (``POST /datasets``, ``wise-al dataset upload``).
DatasetName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=120)]


class TrainingSpec(StrictModel):
    """Training hyperparameters; architecture fields apply to ``from_scratch`` only.

    ``learning_rate`` and ``ema_decay`` left unset take the strategy's default
    (:func:`wise_al.mace.training.effective_training` says which and why).
    """

    max_num_epochs: Annotated[int, Field(ge=1, le=100_000)] = 200
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 4
    learning_rate: Annotated[float, Field(gt=0, le=1)] | None = None
    ema_decay: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=None, description="exponential moving average of the weights (mace --ema)"
    )
    energy_weight: Annotated[float, Field(ge=0, le=1e4)] = 10.0
    forces_weight: Annotated[float, Field(ge=0, le=1e4)] = 10.0
    stress_weight: Annotated[float, Field(ge=0, le=1e4)] = 0.0
    valid_fraction: Annotated[float, Field(gt=0, lt=0.5)] = 0.1
    test_fraction: Annotated[float, Field(ge=0, lt=0.5)] = 0.1
    split_block_fs: Annotated[float, Field(gt=0, le=1e7)] | None = Field(
        default=None,
        description="frames of one walker run go to one split (train, valid or test) as a "
        "whole, so no test frame has a near-copy 5 fs away in the training set; a length "
        "in fs splits long runs into blocks of it instead",
    )
    external_test_set: (
        Annotated[str, AfterValidator(lambda v: check_home_path(v, DATA_FILE_SUFFIXES))] | None
    ) = Field(
        default=None,
        description="extxyz of labelled frames (REF_energy, REF_forces) at the campaign's "
        "level of theory, e.g. AIMD, that every iteration's committee is scored on",
    )
    max_label_force_eV_per_A: Annotated[float, Field(gt=0, le=1e4)] = Field(
        default=20.0,
        description="labels with a larger force stay out of training (overlapping atoms)",
    )
    energy_outlier_mads: Annotated[float, Field(gt=0, le=1e3)] | None = Field(
        default=10.0,
        description="labels whose energy per atom is further than this many robust standard "
        "deviations from the rest stay out of training; null turns the rule off",
    )
    bootstrap: bool | None = Field(
        default=None,
        description="resample each member's training set with replacement; unset: on for "
        "fine-tuned committees (members from one foundation differing only by seed agree too "
        "well), off from scratch (random initial weights already make members differ)",
    )
    seed: Seed = 0
    member_lr_factor: Annotated[float, Field(ge=1, le=10)] = Field(
        default=1.0,
        description="member k trains at learning_rate x factor**k: a diversity knob beside "
        "seed and bootstrap (members that see the same data in the same order are one model)",
    )
    replay_data: (
        Annotated[str, AfterValidator(lambda v: check_home_path(v, DATA_FILE_SUFFIXES))] | None
    ) = Field(
        default=None,
        description="extxyz of foundation-level data replayed by multihead fine-tuning",
    )
    pair_repulsion: bool = Field(
        default=False,
        description="add MACE's ZBL pair repulsion (from_scratch only): a model that never saw "
        "two atoms pushed together still repels them, e.g. two Li+ it would otherwise fuse",
    )
    r_max_A: Annotated[float, Field(gt=1, le=12)] = 5.0
    num_channels: Annotated[int, Field(ge=4, le=512)] = 64
    max_L: Annotated[int, Field(ge=0, le=3)] = 1
    num_interactions: Annotated[int, Field(ge=1, le=6)] = 2
    correlation: Annotated[int, Field(ge=1, le=4)] = 3


class InitialCellsSpec(StrictModel):
    """Iteration 0's labels from packed cells relaxed by CP2K: a start with no data at all.

    Each cell is packed by packmol with its own seed and relaxed by CP2K at the campaign's
    level; frames evenly spaced along the relaxation (the packed cell first, the relaxed one
    last) are labelled like any selected frame, so the first committee sees both the strained
    contacts of a fresh packing and a cell near its minimum.
    """

    cells: Annotated[int, Field(ge=1, le=64)] = 4
    relax_steps: Annotated[int, Field(ge=0, le=500)] = Field(
        default=20, description="CP2K LBFGS steps per cell (0: the packed cells as they are)"
    )
    frames_per_cell: Annotated[int, Field(ge=1, le=50)] = Field(
        default=3, description="frames labelled per cell, evenly spaced along its relaxation"
    )
    seed: Seed = 0

    @model_validator(mode="after")
    def _frames_exist(self) -> InitialCellsSpec:
        if self.frames_per_cell > self.relax_steps + 1:
            raise ValueError(
                f"frames_per_cell: {self.frames_per_cell} frames cannot come from a relaxation "
                f"of {self.relax_steps} steps (at most relax_steps + 1)"
            )
        return self


class ModelSpec(StrictModel):
    """The committee: foundation model, training strategy and size.

    Strategies: ``fine_tune_naive`` / ``fine_tune_multihead`` fine-tune the foundation;
    ``from_scratch`` trains new models (the foundation, if given, only drives iteration 0's
    MD); ``foundation`` trains nothing: the foundation alone is evaluated and validated, a
    baseline for the others.
    """

    foundation: str | None = Field(
        default=None,
        description="a MACE .model file, or a foundation name mace knows (e.g. medium-mpa-0)",
    )
    strategy: Strategy = "fine_tune_naive"
    committee_size: Annotated[int, Field(ge=1, le=16)] = 4
    initial_dataset: DatasetName | None = Field(
        default=None,
        description="an uploaded labelled dataset (e.g. AIMD) imported as iteration 0's "
        "labels: the first committee trains on it before any exploration",
    )
    initial_cells: InitialCellsSpec | None = Field(
        default=None,
        description="iteration 0's labels from packed cells relaxed by CP2K, for a start "
        "with neither data nor a foundation",
    )
    training: TrainingSpec = Field(default_factory=TrainingSpec)

    @field_validator("committee_size")
    @classmethod
    def _members(cls, size: int, info: ValidationInfo) -> int:
        if size < 2 and info.data.get("strategy") != "foundation":
            raise ValueError("a committee that trains needs at least 2 members")
        return size

    @field_validator("foundation")
    @classmethod
    def _path_or_known_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if value in MACE_FOUNDATION_NAMES:
            return value
        if value.endswith(MODEL_FILE_SUFFIXES):
            return check_home_path(value, MODEL_FILE_SUFFIXES)
        raise ValueError(
            f"{value!r} is neither a MACE model file ({', '.join(MODEL_FILE_SUFFIXES)}) "
            f"nor a foundation name mace knows ({', '.join(sorted(MACE_FOUNDATION_NAMES))})"
        )

    @model_validator(mode="after")
    def _strategy_needs(self) -> ModelSpec:
        if self.strategy != "from_scratch" and self.foundation is None:
            raise ValueError(
                f"strategy {self.strategy!r} needs foundation: a .model file or a name mace knows"
            )
        if (
            self.strategy == "from_scratch"
            and self.foundation is None
            and self.initial_dataset is None
            and self.initial_cells is None
        ):
            raise ValueError(
                "strategy 'from_scratch' needs initial_dataset (labels to train the first "
                "committee on), initial_cells (packed cells to label) or foundation (a model "
                "to drive iteration 0's MD)"
            )
        if self.initial_dataset is not None and self.initial_cells is not None:
            raise ValueError(
                "initial_cells: iteration 0 is seeded either by initial_dataset or by packed "
                "cells, not both"
            )
        if self.strategy == "foundation":
            if "committee_size" in self.model_fields_set and self.committee_size != 1:
                raise ValueError(
                    "committee_size: strategy 'foundation' evaluates the foundation alone (1)"
                )
            for seeded in ("initial_dataset", "initial_cells"):
                if getattr(self, seeded) is not None:
                    raise ValueError(f"{seeded}: strategy 'foundation' trains on nothing")
            self.committee_size = 1
        if self.training.pair_repulsion and self.strategy != "from_scratch":
            raise ValueError(
                "training.pair_repulsion applies to strategy 'from_scratch' (a fine-tuned "
                "model keeps its foundation's architecture)"
            )
        if self.strategy == "fine_tune_multihead" and self.training.replay_data is None:
            raise ValueError("strategy 'fine_tune_multihead' needs training.replay_data")
        return self
