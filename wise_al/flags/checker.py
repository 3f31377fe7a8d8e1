"""All configured rules, run on a frame with one shared neighbour list."""

from __future__ import annotations

from collections.abc import Sequence

from ase import Atoms

from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.flags import bonds, min_distance, overlap, temperature  # noqa: F401 (registers)
from wise_al.flags.base import RULE_BUILDERS, STOPPING_FLAGS, Flag, FlagRule, FrameView
from wise_al.observables.contacts import LI_LI_CONTACT_A


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


def breaks_run(flag: Flag, atoms: Atoms) -> bool:
    """Whether ``flag`` ends what a trajectory can say about the liquid: a stopping flag, or
    two Li⁺ in contact (the spurious contact the paper found): closer than their flag's
    limit and than :data:`~wise_al.observables.contacts.LI_LI_CONTACT_A`, so a limit set
    wide to flag frames for selection does not call an intact run broken."""
    if flag.kind in STOPPING_FLAGS:
        return True
    symbols = {atoms[i].symbol for i in flag.atoms}
    return flag.kind == "min_distance" and symbols == {"Li"} and flag.value < LI_LI_CONTACT_A


def first_break(frames: Sequence[Atoms], checker: FlagChecker) -> tuple[int, str] | None:
    """The MD step and the reason of the first frame whose flags break the run, or None.

    The step is the frame's ``step`` or ``md_step`` (its index when it carries neither).
    """
    for k, atoms in enumerate(frames):
        breaking = [flag for flag in checker.check(atoms) if breaks_run(flag, atoms)]
        if breaking:
            step = atoms.info.get("step", atoms.info.get("md_step"))
            step = k if step is None else int(step)
            return step, breaking[0].message
    return None


def broken_run(frames: Sequence[Atoms], checker: FlagChecker) -> dict[str, int | str]:
    """``broke_at_step`` and ``broke_because`` of a run that broke, for its report (which
    then grades nothing); empty for an intact run."""
    found = first_break(frames, checker)
    return {} if found is None else {"broke_at_step": found[0], "broke_because": found[1]}
