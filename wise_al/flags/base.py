"""What a physics flag is, what a rule sees of a frame, and the registry of rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
from ase import Atoms

from wise_al.systems.neighbours import Pairs, pairs_within

#: Flag kinds that mean the trajectory left physical space: a walker stops there.
STOPPING_FLAGS = frozenset({"overlap", "bond_broken", "temperature"})


@dataclass(frozen=True)
class Flag:
    """One reason a frame is physically suspect.

    Attributes
    ----------
    kind
        Rule that raised it: ``min_distance``, ``bond_broken``, ``bond_formed``, ``overlap``,
        ``temperature``.
    atoms
        Indices of the atoms involved (empty for whole-frame flags).
    value, threshold
        The measured value and the limit it crossed, in ``unit``.
    message
        One sentence a person understands.
    """

    kind: str
    atoms: tuple[int, ...]
    value: float
    threshold: float
    unit: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (as stored in the database and in extxyz info)."""
        data = asdict(self)
        data["atoms"] = list(self.atoms)
        return data


class FrameView:
    """A frame as rules see it: symbols, and pairs within a shared cutoff (computed once).

    Parameters
    ----------
    atoms
        The frame.
    cutoff_A
        Neighbour-list cutoff: the largest distance any rule needs.
    """

    def __init__(self, atoms: Atoms, cutoff_A: float) -> None:
        self.atoms = atoms
        self.symbols = np.array(atoms.get_chemical_symbols())
        self.pairs: Pairs = pairs_within(atoms, cutoff_A)


class FlagRule(Protocol):
    """A physics check: reads a frame, returns the flags it raises (or none)."""

    kind: str

    def cutoff_A(self) -> float:
        """Largest pair distance this rule looks at (0 if it needs no pairs)."""
        ...

    def check(self, frame: FrameView) -> list[Flag]:
        """Flags raised by ``frame``."""
        ...


#: Rule builders by name: each takes (flags spec, reference frame, target temperature in K)
#: and returns the rules it configures (possibly none, when disabled).
RuleBuilder = Callable[[Any, Atoms, float | None], list[FlagRule]]
RULE_BUILDERS: dict[str, RuleBuilder] = {}


def register(name: str) -> Callable[[RuleBuilder], RuleBuilder]:
    """Register a rule builder under ``name`` (one module per kind of flag)."""

    def decorate(builder: RuleBuilder) -> RuleBuilder:
        RULE_BUILDERS[name] = builder
        return builder

    return decorate


def pair_label(a: str, b: str) -> str:
    """Canonical ``"Li-O"`` label of an element pair (sorted)."""
    return "-".join(sorted((a, b)))
