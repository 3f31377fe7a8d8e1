"""3D geometries of the species a WiSE cell is packed from."""

from __future__ import annotations

from functools import cache
from importlib import resources

from ase import Atoms
from ase.build import molecule
from ase.io import read

from wise_al.systems.species import SPECIES


@cache
def _tfsi() -> Atoms:
    # C2 trans conformer built from standard bond lengths and angles (see the file header)
    with resources.files("wise_al.systems").joinpath("data/tfsi.xyz").open() as handle:
        atoms = read(handle, format="xyz")
    assert isinstance(atoms, Atoms)
    return atoms


def species_geometry(name: str) -> Atoms:
    """A fresh copy of the geometry of one species (``H2O``, ``Li+``, ``TFSI-``).

    Salts are not a geometry: pack their ions (``LiTFSI`` -> ``Li+`` and ``TFSI-``).
    """
    if name == "H2O":
        return molecule("H2O")
    if name == "Li+":
        return Atoms("Li", positions=[[0.0, 0.0, 0.0]])
    if name == "TFSI-":
        return _tfsi().copy()
    if name in SPECIES:
        raise ValueError(f"{name} is a salt: pack its ions {', '.join(SPECIES[name].parts)}")
    raise ValueError(f"no geometry for species {name!r}")


def expand_salts(molecules: dict[str, int]) -> dict[str, int]:
    """Species -> count with salts split into their ions (``LiTFSI: 2`` -> ``Li+: 2, TFSI-: 2``)."""
    expanded: dict[str, int] = {}
    for name, count in molecules.items():
        for part in SPECIES[name].parts or (name,):
            expanded[part] = expanded.get(part, 0) + count
    return expanded
