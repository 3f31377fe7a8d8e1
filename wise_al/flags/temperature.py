"""Temperature runaway: the kinetic temperature far above the walker's target."""

from __future__ import annotations

from typing import Any

from ase import Atoms

from wise_al.flags.base import Flag, FlagRule, FrameView, register


class TemperatureRule:
    """Flag a frame whose instantaneous temperature exceeds ``factor`` × target."""

    kind = "temperature"

    def __init__(self, target_K: float, factor: float) -> None:
        self.limit_K = target_K * factor
        self.factor = factor

    def cutoff_A(self) -> float:
        return 0.0

    def check(self, frame: FrameView) -> list[Flag]:
        atoms = frame.atoms
        # a saved production frame keeps its temperature, not its momenta
        if atoms.get_momenta().any():
            temperature_K = float(atoms.get_temperature())
        elif isinstance(atoms.info.get("temperature_K"), (int, float)):
            temperature_K = float(atoms.info["temperature_K"])
        else:
            return []
        if temperature_K > self.limit_K:
            return [
                Flag(
                    self.kind,
                    (),
                    temperature_K,
                    self.limit_K,
                    "K",
                    f"the frame is at {temperature_K:.0f} K, over {self.factor:g}× the "
                    f"target ({self.limit_K:.0f} K): the dynamics are running away",
                )
            ]
        return []


@register("temperature")
def build(spec: Any, _reference: Atoms, target_temperature_K: float | None) -> list[FlagRule]:
    if target_temperature_K is None:
        return []
    return [TemperatureRule(target_temperature_K, spec.max_temperature_factor)]
