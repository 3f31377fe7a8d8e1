"""Isolated-atom reference energies (E0s) at the level of theory of the labels.

MACE learns energies relative to per-element E0s. They must come from the same level of
theory as the labels (a foundation model's E0s belong to its own), so each element's
neutral atom is labelled by CP2K in its ground-state spin, alone in a box, through the
same :class:`~wise_al.cp2k.label.Labeller`: its content-addressed store caches them once
per element and level.
"""

from __future__ import annotations

from collections.abc import Iterable

from ase import Atoms
from ase.data import atomic_numbers

from wise_al.cp2k.input import Electrons
from wise_al.cp2k.label import Labeller
from wise_al.errors import WiseAlError

#: Spin multiplicity of each neutral atom's ground state (Hund's rules).
GROUND_STATE_MULTIPLICITY: dict[str, int] = {
    "H": 2, "He": 1, "Li": 2, "Be": 1, "B": 2, "C": 3, "N": 4, "O": 3, "F": 2, "Ne": 1,
    "Na": 2, "Mg": 1, "Al": 2, "Si": 3, "P": 4, "S": 3, "Cl": 2, "Ar": 1, "K": 2, "Ca": 1,
}  # fmt: skip

#: Side of the cubic box around an isolated atom, and its periodicity (none: Poisson MT).
ATOM_BOX_A = 10.0


def isolated_atom(element: str) -> Atoms:
    """A neutral atom centred in an open box of :data:`ATOM_BOX_A`."""
    half = ATOM_BOX_A / 2
    return Atoms(element, positions=[[half, half, half]], cell=[ATOM_BOX_A] * 3, pbc=False)


def reference_energies(labeller: Labeller, elements: Iterable[str]) -> dict[int, float]:
    """E0 per atomic number, in eV, at the labeller's level of theory.

    Raises
    ------
    WiseAlError
        If an element has no known ground state or its atom could not be computed.
    """
    e0s: dict[int, float] = {}
    for element in sorted(set(elements)):
        if element not in GROUND_STATE_MULTIPLICITY:
            raise WiseAlError(f"no ground-state spin known for element {element}")
        electrons = Electrons(0, GROUND_STATE_MULTIPLICITY[element])
        result = labeller.label(isolated_atom(element), electrons=electrons)
        if not result.ok or result.energy_eV is None:
            raise WiseAlError(
                f"the isolated {element} atom failed ({result.failure}); see {result.directory}"
            )
        e0s[atomic_numbers[element]] = result.energy_eV
    return e0s
