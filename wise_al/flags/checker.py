"""All configured rules, run on a frame with one shared neighbour list."""

from __future__ import annotations

from ase import Atoms

from wise_al.flags import bonds, min_distance, overlap, temperature  # noqa: F401 (registers)
from wise_al.flags.base import RULE_BUILDERS, Flag, FlagRule, FrameView
from wise_al.spec.exploration import FlagsSpec


class FlagChecker:
    """Physics flags of a trajectory, configured once from its starting frame.

    Parameters
    ----------
    spec
        The campaign's ``flags`` section.
    reference
        The starting frame: its molecule graph is what "intact" means.
    target_temperature_K
        The walker's thermostat target (no temperature flag without it).
    """

    def __init__(
        self, spec: FlagsSpec, reference: Atoms, target_temperature_K: float | None = None
    ) -> None:
        self.rules: list[FlagRule] = [
            rule
            for builder in RULE_BUILDERS.values()
            for rule in builder(spec, reference, target_temperature_K)
        ]
        self.cutoff_A = max((rule.cutoff_A() for rule in self.rules), default=0.0)

    def check(self, atoms: Atoms) -> list[Flag]:
        """Every flag ``atoms`` raises, rule by rule."""
        frame = FrameView(atoms, self.cutoff_A)
        return [flag for rule in self.rules for flag in rule.check(frame)]
