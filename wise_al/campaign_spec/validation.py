"""The ``validation`` section: production MD after each trained committee, judged against
experiment (density, Li–O coordination, X-ray S(q), Li–Li contacts)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from wise_al.campaign_spec.base import Dispersion, Ensemble, StrictModel
from wise_al.campaign_spec.system import TemperatureK
from wise_al.observables.registry import DEFAULT_THRESHOLDS, ObservableMetric, ThresholdSet
from wise_al.observables.structure_factor import SQ_WINDOW_BINS

__all__ = ["ObservableMetric", "ValidationSpec"]


class ValidationSpec(StrictModel):
    """Production MD of the iteration's committee from one shared equilibrated cell.

    The cell is the system's, packed once per campaign and equilibrated for
    ``equilibration_steps`` by the first committee validated; every later iteration starts
    from that same cell, so iterations differ only by their potential.
    """

    enabled: bool = False
    ensemble: Ensemble = "NVT"
    temperature_K: TemperatureK = 298.15
    pressure_bar: Annotated[float, Field(ge=-1e5, le=1e5)] = 1.01325
    timestep_fs: Annotated[float, Field(gt=0, le=5)] = 0.5
    equilibration_steps: Annotated[int, Field(ge=0, le=100_000_000)] = 2000
    steps: Annotated[int, Field(ge=1, le=100_000_000)] = 10_000
    save_interval_steps: Annotated[int, Field(ge=1)] = 20
    checkpoint_interval_steps: Annotated[int, Field(ge=1)] = 1000
    dispersion: Dispersion = "none"
    dispersion_functional: Annotated[str, Field(pattern=r"^[A-Za-z0-9_+-]{1,32}$")] = "pbe"
    sq_window: Annotated[int, Field(ge=3, le=201)] = SQ_WINDOW_BINS
    thresholds: ThresholdSet = Field(
        default=DEFAULT_THRESHOLDS,
        description="grading thresholds: ml-peg-pr445 (the benchmark's announced revision) "
        "or ml-peg-metrics (its metrics.yml today)",
    )
    device: Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d{1,3})?)$")] = "auto"

    @model_validator(mode="after")
    def _consistent(self) -> ValidationSpec:
        if self.sq_window % 2 == 0:
            raise ValueError(f"sq_window ({self.sq_window}) must be odd")
        if self.steps // self.save_interval_steps < 2:
            raise ValueError(
                f"steps ({self.steps}) save fewer than 2 frames at save_interval_steps "
                f"({self.save_interval_steps})"
            )
        if self.checkpoint_interval_steps % self.save_interval_steps:
            raise ValueError(
                f"checkpoint_interval_steps ({self.checkpoint_interval_steps}) must be a "
                f"multiple of save_interval_steps ({self.save_interval_steps})"
            )
        return self
