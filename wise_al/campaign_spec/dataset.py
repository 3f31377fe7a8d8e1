"""What an upload declares about its file: name, kind, and the level of theory of its labels."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from wise_al.campaign_spec.base import Description, StrictModel
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.campaign_spec.model import DatasetName

#: Largest level-of-theory record accepted, as JSON (records are a few hundred bytes).
MAX_LEVEL_RECORD_BYTES = 65_536
#: Most frames a confirmation may report (the CLI re-labels a handful).
MAX_CONFIRMED_FRAMES = 1000

NonNegative = Annotated[float, Field(ge=0)]


class ConfirmationRecord(StrictModel):
    """Frames of an upload re-labelled with CP2K at the declared level, and how closely
    they matched (``wise-al dataset upload --confirm``); kept as provenance."""

    frames: list[Annotated[int, Field(ge=0)]] = Field(max_length=MAX_CONFIRMED_FRAMES)
    energy_diff_meV_per_atom: list[NonNegative] = Field(max_length=MAX_CONFIRMED_FRAMES)
    force_max_diff_eV_per_A: list[NonNegative] = Field(max_length=MAX_CONFIRMED_FRAMES)
    energy_tolerance_meV_per_atom: NonNegative
    force_tolerance_eV_per_A: NonNegative
    checked_by: Annotated[str, Field(max_length=200)] = "wise-al dataset upload --confirm"

    @model_validator(mode="after")
    def _one_number_per_frame(self) -> ConfirmationRecord:
        lengths = {len(self.energy_diff_meV_per_atom), len(self.force_max_diff_eV_per_A)}
        if lengths != {len(self.frames)}:
            raise ValueError("one energy and one force difference per confirmed frame")
        return self


class DatasetSpec(StrictModel):
    """The metadata of one upload (``POST /datasets``'s ``metadata`` part).

    Labelled data declares its level of theory as the record its labels were computed at
    (``level_of_theory``: what every label of wise-al stores, e.g. from ``wise-al dataset
    upload --labelling``, which fingerprints the local CP2K), and, when CP2K made it, the
    ``labelling`` section that reproduces it: only then can a campaign that labels with
    CP2K train on it (the two are checked against each other on import). Structures
    declare no level.
    """

    name: DatasetName
    kind: Literal["labelled", "structures"] = "labelled"
    description: Description = ""
    level_of_theory: dict[str, Any] | None = Field(
        default=None,
        description="the labels' level record: at least 'code' and 'method'; wise-al's own "
        "CP2K records (code_version, data file hashes, ...) come from `wise-al dataset "
        "upload --labelling`",
    )
    labelling: LabellingSpec | None = Field(
        default=None, description="the CP2K labelling section the labels were computed with"
    )
    confirmation: ConfirmationRecord | None = Field(
        default=None,
        description="frames re-labelled with CP2K by the uploading client (`--confirm`), "
        "kept as provenance",
    )

    @field_validator("level_of_theory")
    @classmethod
    def _record(cls, record: dict[str, Any] | None) -> dict[str, Any] | None:
        if record is None:
            return None
        for key in ("code", "method"):
            if not isinstance(record.get(key), str) or not record[key].strip():
                raise ValueError(f"must name the {key} as text (e.g. 'CP2K', 'GFN1-xTB')")
        try:
            text = json.dumps(record, sort_keys=True, allow_nan=False)
        except ValueError:
            raise ValueError("must be plain JSON (no NaN)") from None
        if len(text) > MAX_LEVEL_RECORD_BYTES:
            raise ValueError(f"larger than {MAX_LEVEL_RECORD_BYTES} bytes as JSON")
        return record

    @model_validator(mode="after")
    def _level_declared(self) -> DatasetSpec:
        if self.kind == "structures":
            if self.level_of_theory is not None or self.labelling is not None:
                raise ValueError("structures carry no labels: declare no level of theory")
            return self
        if self.level_of_theory is None:
            raise ValueError(
                "level_of_theory: labelled data must declare the level its labels were "
                "computed at (`wise-al dataset upload --labelling spec.yaml` records it)"
            )
        return self
