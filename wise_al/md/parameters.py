"""What a production run is: ensemble, thermostat, lengths, dispersion (one validated model)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from wise_al.campaign_spec.base import Dispersion, Driver, Ensemble, StrictModel


class ProductionParameters(StrictModel):
    """Settings of one production MD run.

    NVT is a Nosé–Hoover chain, NPT the isotropic Martyna–Tobias–Klein barostat with
    Nosé–Hoover chains on particles and cell (both deterministic, so a resumed run is the
    uninterrupted run, frame for frame). Damping times default to ASE's advice: 100 time
    steps for the thermostat, 1000 for the barostat.
    """

    ensemble: Ensemble = "NVT"
    temperature_K: Annotated[float, Field(gt=0, le=5000)] = 298.15
    pressure_bar: Annotated[float, Field(ge=-1e5, le=1e6)] = 1.01325
    timestep_fs: Annotated[float, Field(gt=0, le=5)] = 0.5
    steps: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1000
    save_interval_steps: Annotated[int, Field(ge=1)] = 10
    checkpoint_interval_steps: Annotated[int, Field(ge=1)] = 100
    thermostat_damping_fs: Annotated[float, Field(gt=0)] | None = None
    barostat_damping_fs: Annotated[float, Field(gt=0)] | None = None
    chain_length: Annotated[int, Field(ge=1, le=10)] = 3
    seed: int = 0
    driver: Driver = "member"
    dispersion: Dispersion = "none"
    dispersion_functional: Annotated[str, Field(pattern=r"^[A-Za-z0-9_+-]{1,32}$")] = "pbe"

    @model_validator(mode="after")
    def _saves_something(self) -> ProductionParameters:
        if self.save_interval_steps > self.steps:
            raise ValueError(
                f"save_interval_steps ({self.save_interval_steps}) exceeds steps "
                f"({self.steps}): no frame would be saved"
            )
        if self.checkpoint_interval_steps % self.save_interval_steps:
            raise ValueError(
                f"checkpoint_interval_steps ({self.checkpoint_interval_steps}) must be a "
                f"multiple of save_interval_steps ({self.save_interval_steps}), so a resumed "
                "run saves the same frames"
            )
        return self

    @property
    def tdamp_fs(self) -> float:
        """Thermostat damping time (default 100 time steps)."""
        return self.thermostat_damping_fs or 100 * self.timestep_fs

    @property
    def pdamp_fs(self) -> float:
        """Barostat damping time (default 1000 time steps)."""
        return self.barostat_damping_fs or 1000 * self.timestep_fs

    def same_run_as(self, other: ProductionParameters) -> bool:
        """True when ``other`` continues this run: everything equal but its length."""
        return self.model_dump(exclude={"steps"}) == other.model_dump(exclude={"steps"})
