"""WiSE cells: LiTFSI + water packed by packmol at a target density, then checked.

packmol 20.14 has no ``pbc`` keyword, so molecules are packed into a box one tolerance
smaller than the cell (half a tolerance from each face): periodic images then keep the
tolerance too. The packed cell is checked with minimum-image distances afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write
from ase.units import _amu

from wise_al.errors import WiseAlError
from wise_al.systems.molecules import expand_salts, species_geometry
from wise_al.systems.neighbours import pairs_within
from wise_al.systems.species import DENSITY_21M_G_PER_CM3, SPECIES, waters_for_molality


class CellError(WiseAlError):
    """A cell could not be built (packmol failed, or the packed cell has overlapping atoms)."""


@dataclass(frozen=True)
class BenchmarkCell:
    """A cell of the ml-peg WiSE benchmark (science.md)."""

    ion_pairs: int
    waters: int
    cell_A: float | None  # None: from the experimental density


BENCHMARK_CELLS = {
    "p16_w42": BenchmarkCell(16, 42, None),
    "p64_w170": BenchmarkCell(64, 170, 27.4938),
}


def mass_g(molecules: dict[str, int]) -> float:
    """Total mass of a composition in grams."""
    amu = sum(SPECIES[name].mass_g_per_mol * n for name, n in molecules.items())
    return amu * _amu * 1e3


def cubic_side_A(molecules: dict[str, int], density_g_per_cm3: float) -> float:
    """Side of the cubic cell holding ``molecules`` at ``density_g_per_cm3``."""
    volume_A3 = mass_g(molecules) / density_g_per_cm3 * 1e24
    return float(volume_A3 ** (1.0 / 3.0))


#: packmol radius of Li+ in Å (other atoms get tolerance / 2): packed Li+ pairs start
#: 2.8 Å apart, clear of the Li-Li flag (2.6 Å), and 2.4 Å from any other atom.
LI_PACKING_RADIUS_A = 1.4


def _packmol_input(
    files: dict[str, tuple[str, int]], side_A: float, tolerance_A: float, seed: int
) -> str:
    lo, hi = tolerance_A / 2, side_A - tolerance_A / 2
    lines = [
        f"tolerance {tolerance_A}",
        "filetype xyz",
        "output packed.xyz",
        f"seed {seed}",
        "nloop 200",
    ]
    box = " ".join(f"{v:.4f}" for v in (lo, lo, lo, hi, hi, hi))
    for name, (file, count) in files.items():
        lines += [f"structure {file}", f"  number {count}", f"  inside box {box}"]
        if name == "Li+":
            lines.append(f"  radius {LI_PACKING_RADIUS_A}")
        lines.append("end structure")
    return "\n".join(lines) + "\n"


#: Minimum-image distances (Å) between atoms of different molecules that a packed cell must
#: keep; ``"*"`` is any other pair. Each stays clear of the default physics flags
#: (wise_al.campaign_spec.exploration.DEFAULT_MIN_DISTANCE_A; a test holds the two together), so a
#: freshly built cell is never flagged.
PACKED_MIN_DISTANCE_A = {"Li-Li": 2.65, "Li-O": 1.7, "O-O": 1.95, "*": 1.5}

#: packmol ends "without perfect packing" now and then: retry with derived seeds.
PACKING_ATTEMPTS = 20


def pack_cell(
    molecules: dict[str, int],
    *,
    density_g_per_cm3: float | None = DENSITY_21M_G_PER_CM3,
    side_A: float | None = None,
    tolerance_A: float = 2.0,
    seed: int = 0,
    timeout_s: float = 600.0,
) -> Atoms:
    """Pack a cubic periodic cell with packmol.

    Parameters
    ----------
    molecules
        Species -> count; salts (``LiTFSI``) are packed as their ions.
    density_g_per_cm3, side_A
        Cell size: from a density, or a given side (which wins when both are set).
    tolerance_A
        packmol's minimum distance between atoms of different molecules.
    seed
        Random seed: the same seed gives the same cell.

    Returns
    -------
    ase.Atoms
        Periodic cell; ``arrays["mol_id"]`` numbers the molecule of each atom and
        ``info["species"]`` records the composition. Minimum-image distances between
        molecules respect :data:`PACKED_MIN_DISTANCE_A` (checked after packing).
    """
    ions = {name: n for name, n in sorted(expand_salts(molecules).items()) if n > 0}
    if not ions:
        raise CellError("the composition is empty")
    if side_A is None:
        if density_g_per_cm3 is None:
            raise CellError("give a density or a cell side")
        side_A = cubic_side_A(molecules, density_g_per_cm3)
    packmol = shutil.which("packmol")
    if packmol is None:
        raise CellError("packmol is not installed (Debian package `packmol`)")
    problem = ""
    for attempt in range(PACKING_ATTEMPTS):
        atoms = _run_packmol(packmol, ions, side_A, tolerance_A, seed + 7919 * attempt, timeout_s)
        problem = intermolecular_clash(atoms, PACKED_MIN_DISTANCE_A)
        if not problem:
            return atoms
    raise CellError(f"{PACKING_ATTEMPTS} packings all failed: {problem}; try a lower density")


def _run_packmol(
    packmol: str,
    ions: dict[str, int],
    side_A: float,
    tolerance_A: float,
    seed: int,
    timeout_s: float,
) -> Atoms:
    with tempfile.TemporaryDirectory(prefix="wise-al-pack-") as tmp:
        work = Path(tmp)
        files = {}
        for index, (name, count) in enumerate(ions.items()):
            file = f"species{index}.xyz"
            write(work / file, species_geometry(name), format="xyz")
            files[name] = (file, count)
        (work / "pack.inp").write_text(_packmol_input(files, side_A, tolerance_A, seed))
        with (work / "pack.inp").open() as stdin:
            result = subprocess.run(
                [packmol],
                stdin=stdin,
                cwd=work,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        if not (work / "packed.xyz").exists():
            tail = " ".join(result.stdout.split()[-30:])
            raise CellError(f"packmol failed (exit {result.returncode}): {tail}")
        packed = read(work / "packed.xyz", format="xyz")
    assert isinstance(packed, Atoms)
    packed.cell = np.eye(3) * side_A
    packed.pbc = True
    sizes = [len(species_geometry(name)) for name in ions]
    counts = list(ions.values())
    # packmol writes molecules in input order, atoms of one molecule together
    molecule_sizes = np.repeat(sizes, counts)
    packed.arrays["mol_id"] = np.repeat(np.arange(len(molecule_sizes)), molecule_sizes)
    packed.info["species"] = " ".join(f"{name}:{n}" for name, n in ions.items())
    return packed


def intermolecular_clash(atoms: Atoms, limits_A: dict[str, float]) -> str:
    """Describe the closest pair of atoms from different molecules under its limit, or ''."""
    default = limits_A.get("*", 0.0)
    pairs = pairs_within(atoms, max(limits_A.values()))
    symbols = np.array(atoms.get_chemical_symbols())
    mol_id = atoms.arrays["mol_id"]
    labels = ["-".join(sorted(p)) for p in zip(symbols[pairs.i], symbols[pairs.j], strict=True)]
    limit = np.array([limits_A.get(label, default) for label in labels])
    clash = (mol_id[pairs.i] != mol_id[pairs.j]) & (pairs.distance_A < limit)
    if not clash.any():
        return ""
    k = int(np.argmin(np.where(clash, pairs.distance_A - limit, np.inf)))
    i, j = int(pairs.i[k]), int(pairs.j[k])
    return (
        f"{symbols[i]} {i} and {symbols[j]} {j} of different molecules are "
        f"{pairs.distance_A[k]:.2f} Å apart (< {limit[k]} Å; {int(clash.sum())} such pairs)"
    )


def build_wise_cell(
    molality_mol_per_kg: float = 21.0,
    ion_pairs: int = 16,
    *,
    density_g_per_cm3: float = DENSITY_21M_G_PER_CM3,
    seed: int = 0,
) -> Atoms:
    """A LiTFSI/water cell at a molality, its side from the density (21 m, 16 pairs: 382 atoms)."""
    waters = waters_for_molality(molality_mol_per_kg, ion_pairs)
    return pack_cell(
        {"LiTFSI": ion_pairs, "H2O": waters}, density_g_per_cm3=density_g_per_cm3, seed=seed
    )


def build_benchmark_cell(name: str, *, seed: int = 0) -> Atoms:
    """One of the benchmark cells ``p16_w42`` or ``p64_w170``."""
    if name not in BENCHMARK_CELLS:
        raise CellError(f"unknown benchmark cell {name!r} (known: {', '.join(BENCHMARK_CELLS)})")
    cell = BENCHMARK_CELLS[name]
    return pack_cell({"LiTFSI": cell.ion_pairs, "H2O": cell.waters}, side_A=cell.cell_A, seed=seed)
