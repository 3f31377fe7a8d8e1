"""The ``system`` section: what is simulated, in which cell, at which conditions."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from wise_al.campaign_spec.base import StrictModel
from wise_al.systems.species import (
    DENSITY_21M_G_PER_CM3,
    SALTS,
    SPECIES,
    count_atoms,
    total_charge_e,
    waters_for_molality,
)

#: Largest cell a campaign may ask for; beyond this MACE MD and CP2K labels stop making sense.
MAX_ATOMS = 100_000
#: Most walkers (replicas summed over conditions) one campaign runs per iteration.
MAX_WALKERS = 256
#: Densities a cell may have, whichever way it is given: a gas to well past any liquid.
DENSITY_RANGE_G_PER_CM3 = (0.1, 10.0)
#: Temperatures MD may target: below 10 K or past 3000 K a water-in-salt model means nothing
#: (and 1e-300 K overflows the thermostat's noise).
TemperatureK = Annotated[float, Field(ge=10, le=3000)]
#: g/cm3 of one amu in one cubic angstrom.
_G_PER_CM3_PER_AMU_PER_A3 = 1.66053906660


class MolalityCompositionSpec(StrictModel):
    """Salt + water given by molality and number of ion pairs (21 m, 16 pairs -> 42 waters)."""

    kind: Literal["molality"] = "molality"
    salt: Literal[SALTS] = "LiTFSI"  # type: ignore[valid-type]
    # 0.05 mol/kg is already ~1100 waters per ion pair; a subnormal molality overflowed
    molality_mol_per_kg: Annotated[float, Field(ge=0.05, le=60)] = 21.0
    ion_pairs: Annotated[int, Field(ge=1, le=5000)] = 16

    def molecules(self) -> dict[str, int]:
        """Species -> count, waters rounded from the molality."""
        waters = waters_for_molality(self.molality_mol_per_kg, self.ion_pairs)
        return {self.salt: self.ion_pairs, "H2O": waters}

    @model_validator(mode="after")
    def _has_water(self) -> MolalityCompositionSpec:
        if self.molecules()["H2O"] < 1:
            raise ValueError(
                f"{self.ion_pairs} ion pairs at {self.molality_mol_per_kg} mol/kg round to 0 waters"
            )
        return self


class CountsCompositionSpec(StrictModel):
    """Explicit numbers of each species, e.g. ``{LiTFSI: 2, H2O: 5}``."""

    kind: Literal["counts"] = "counts"
    molecules: dict[str, Annotated[int, Field(ge=0, le=MAX_ATOMS)]]

    @field_validator("molecules")
    @classmethod
    def _known_and_neutral(cls, molecules: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(molecules) - set(SPECIES))
        if unknown:
            raise ValueError(
                f"unknown species {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(sorted(SPECIES))})"
            )
        if sum(molecules.values()) == 0:
            raise ValueError("the composition is empty")
        charge = total_charge_e(molecules)
        if charge != 0:
            raise ValueError(f"the system must be neutral, these counts carry {charge:+d} e")
        return molecules


CompositionSpec = Annotated[
    MolalityCompositionSpec | CountsCompositionSpec, Field(discriminator="kind")
]


class WalkerSpec(StrictModel):
    """One exploration condition; ``replicas`` walkers run it with different seeds."""

    temperature_K: TemperatureK | None = None
    pressure_bar: Annotated[float, Field(ge=-1e5, le=1e5)] | None = None
    replicas: Annotated[int, Field(ge=1, le=256)] = 1


class SystemSpec(StrictModel):
    """What is simulated: composition, cell, and the conditions of each walker."""

    composition: CompositionSpec = Field(default_factory=MolalityCompositionSpec)
    density_g_per_cm3: (
        Annotated[float, Field(ge=DENSITY_RANGE_G_PER_CM3[0], le=DENSITY_RANGE_G_PER_CM3[1])] | None
    ) = None
    cell_A: (
        Annotated[list[Annotated[float, Field(gt=1, le=1000)]], Field(min_length=3, max_length=3)]
        | None
    ) = None
    temperature_K: TemperatureK = 298.15
    pressure_bar: Annotated[float, Field(ge=-1e5, le=1e5)] = 1.01325
    walkers: Annotated[list[WalkerSpec], Field(min_length=1, max_length=256)] = Field(
        default_factory=lambda: [WalkerSpec()]
    )

    @model_validator(mode="after")
    def _one_cell_size(self) -> SystemSpec:
        if self.cell_A is not None and self.density_g_per_cm3 is not None:
            raise ValueError("give density_g_per_cm3 or cell_A, not both")
        if self.cell_A is None and self.density_g_per_cm3 is None:
            self.density_g_per_cm3 = DENSITY_21M_G_PER_CM3
        n_atoms = self.atom_count()
        if n_atoms > MAX_ATOMS:
            raise ValueError(f"the composition has {n_atoms} atoms; at most {MAX_ATOMS} supported")
        walkers = sum(w.replicas for w in self.walkers)
        if walkers > MAX_WALKERS:
            raise ValueError(f"walkers: {walkers} replicas in all; at most {MAX_WALKERS}")
        if self.cell_A is not None:
            density = self.implied_density_g_per_cm3()
            low, high = DENSITY_RANGE_G_PER_CM3
            if not low <= density <= high:
                raise ValueError(
                    f"cell_A: this composition in a {' x '.join(f'{v:g}' for v in self.cell_A)} "
                    f"Å cell is {density:.3g} g/cm³; a cell must lie in [{low:g}, {high:g}] g/cm³"
                )
        return self

    def implied_density_g_per_cm3(self) -> float:
        """Density of the composition in the explicit ``cell_A`` (or the given density)."""
        if self.cell_A is None:
            assert self.density_g_per_cm3 is not None
            return self.density_g_per_cm3
        amu = sum(SPECIES[name].mass_g_per_mol * n for name, n in self.molecules().items())
        volume_A3 = self.cell_A[0] * self.cell_A[1] * self.cell_A[2]
        return amu * _G_PER_CM3_PER_AMU_PER_A3 / volume_A3

    def molecules(self) -> dict[str, int]:
        """Species -> count, whichever way the composition was written."""
        return (
            self.composition.molecules
            if isinstance(self.composition, CountsCompositionSpec)
            else self.composition.molecules()
        )

    def element_counts(self) -> Counter[str]:
        """Element -> number of atoms in the cell."""
        return count_atoms(self.molecules())

    def elements(self) -> set[str]:
        """Elements present in the cell."""
        return {el for el, n in self.element_counts().items() if n > 0}

    def atom_count(self) -> int:
        """Total number of atoms in the cell."""
        return sum(self.element_counts().values())
