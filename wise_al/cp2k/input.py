"""CP2K inputs from a labelling spec and a frame, built as a nested dict (cp2k-input-tools).

GFN1-xTB runs inside CP2K's Quickstep (``&QS METHOD XTB``). GPW DFT takes a functional (PBE,
revPBE, BLYP, r2SCAN through libxc), a D3 or D3(BJ) dispersion, a basis and a GTH
pseudopotential per element (:mod:`wise_al.cp2k.level`) and the grid cutoffs. Charge follows
the composition (Li+ +1, TFSI- -1), the cell and periodicity the frame, and forces (and
stress for periodic cells) are printed. User overrides are merged in last.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ase import Atoms

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.level import (
    BASIS_FILES,
    D3_REFERENCE_FUNCTIONALS,
    POTENTIALS,
    R2SCAN_D3BJ,
    R2SCAN_SECTIONS,
    kinds,
)
from wise_al.errors import WiseAlError


@dataclass(frozen=True)
class Electrons:
    """Total charge and spin multiplicity of a calculation (open shells run spin-unrestricted).

    Frames default to :func:`frame_charge_e` and singlets; isolated atoms for reference
    energies pass their ground-state multiplicity.
    """

    charge_e: int
    multiplicity: int = 1


def frame_charge_e(atoms: Atoms) -> int:
    """Total charge from the molecules' composition: Li+ +1 and TFSI- (one N each) -1.

    Water is neutral; a LiTFSI/water frame is neutral, a Li+ water cluster is +1.
    """
    symbols = atoms.get_chemical_symbols()
    return symbols.count("Li") - symbols.count("N")


def _subsys(atoms: Atoms, spec: LabellingSpec) -> dict[str, Any]:
    cell = atoms.cell
    if cell.rank < 3:
        raise WiseAlError("a CP2K label needs a 3D cell (a box around a cluster is fine)")
    periodic = "".join(axis for axis, p in zip("XYZ", atoms.pbc, strict=True) if p) or "NONE"
    coords = [
        f"{s} {x:.16e} {y:.16e} {z:.16e}"
        for s, (x, y, z) in zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)
    ]
    subsys: dict[str, Any] = {
        "cell": {
            **{
                axis: " ".join(f"{v:.16e}" for v in vector)
                for axis, vector in zip("ABC", cell, strict=True)
            },
            "periodic": periodic,
        },
        "coord": {"*": coords},
    }
    if spec.method == "dft":
        subsys["kind"] = [
            {"_": k.element, "basis_set": k.basis, "potential": k.potential}
            for k in kinds(spec, atoms.get_chemical_symbols())
        ]
    return subsys


def _xc(spec: LabellingSpec) -> dict[str, Any]:
    by_name: dict[str, dict[str, Any]] = {
        "PBE": {"_": "PBE"},
        "revPBE": {"pbe": {"parametrization": "REVPBE"}},
        "BLYP": {"_": "BLYP"},
        "r2SCAN": {name.lower(): {"_": "T"} for name in R2SCAN_SECTIONS},
    }
    xc: dict[str, Any] = {"xc_functional": by_name[str(spec.functional)]}
    if spec.dispersion != "none":
        pair: dict[str, Any] = {
            "type": "DFTD3" if spec.dispersion == "D3" else "DFTD3(BJ)",
            "parameter_file_name": "dftd3.dat",
        }
        if spec.functional in D3_REFERENCE_FUNCTIONALS:
            pair["reference_functional"] = spec.functional
        else:  # r2SCAN-D3(BJ): the published damping parameters, given explicitly
            pair["d3bj_scaling"] = " ".join(f"{v:.8f}" for v in R2SCAN_D3BJ)
        xc["vdw_potential"] = {"potential_type": "PAIR_POTENTIAL", "pair_potential": pair}
    return xc


def _dft(spec: LabellingSpec, atoms: Atoms) -> dict[str, Any]:
    """Method-specific part of the DFT section: xTB, or GPW with basis, potentials, XC."""
    if spec.method == "xtb":
        # Measured on 2 LiTFSI + 5 H2O MD frames: OT/DIIS without a preconditioner converges
        # in 23-31 steps; CP2K's default Broyden mixing, direct mixing and OT with
        # FULL_SINGLE_INVERSE (the DFT choice) stalled past 200-300 steps on most frames.
        xtb = {
            "do_ewald": bool(atoms.pbc.any()),
            # CP2K aborts when an xTB Mulliken charge leaves +-2 e: TFSI's S and C do in
            # rattled cells (13 of 48 demo cells). Those are still GFN1-xTB's answer.
            "check_atomic_charges": False,
        }
        return {
            "qs": {"method": "XTB", "xtb": xtb},
            "scf": {"ot": {"minimizer": "DIIS", "preconditioner": "NONE"}},
        }
    assert spec.functional is not None
    return {
        "basis_set_file_name": list(BASIS_FILES),
        "potential_file_name": POTENTIALS[spec.functional][1],
        "qs": {"method": "GPW"},
        "mgrid": {"cutoff": spec.cutoff_Ry, "rel_cutoff": spec.rel_cutoff_Ry},
        "xc": _xc(spec),
        "scf": {"ot": {"minimizer": "DIIS", "preconditioner": "FULL_SINGLE_INVERSE"}},
    }


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` merged into a copy of ``base``: nested sections merge, keywords replace.

    Keys compare case-insensitively (CP2K's input is), keeping ``base``'s spelling.
    """
    out = dict(base)
    by_upper = {key.upper(): key for key in out}
    for key, value in extra.items():
        name = by_upper.get(key.lstrip("+&").upper(), key)
        if isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name] = merge(out[name], value)
        else:
            out[name] = value
    return out


def build_input(
    spec: LabellingSpec, atoms: Atoms, project: str = "label", electrons: Electrons | None = None
) -> dict[str, Any]:
    """The whole CP2K input of one label, as cp2k-input-tools' simplified nested dict.

    The spec's ``cp2k_overrides`` (validated when the spec was) are merged in last.
    """
    electrons = electrons or Electrons(frame_charge_e(atoms))
    dft = merge(
        {
            "charge": electrons.charge_e,
            "multiplicity": electrons.multiplicity,
            "scf": {"eps_scf": spec.eps_scf, "max_scf": spec.max_scf, "scf_guess": "ATOMIC"},
        },
        _dft(spec, atoms),
    )
    if electrons.multiplicity != 1:
        dft["uks"] = True
    if not atoms.pbc.any():
        dft["poisson"] = {"periodic": "NONE", "psolver": "MT"}
    force_eval: dict[str, Any] = {
        "method": "QS",
        "dft": dft,
        "subsys": _subsys(atoms, spec),
        "print": {"forces": {"_": "ON", "ndigits": 15}},
    }
    if atoms.pbc.all():
        force_eval["stress_tensor"] = "ANALYTICAL"
        force_eval["print"]["stress_tensor"] = {"_": "ON"}
    tree = {
        "global": {"project": project, "run_type": "ENERGY_FORCE", "print_level": "LOW"},
        "force_eval": force_eval,
    }
    merged = merge(tree, spec.cp2k_overrides)
    check_merged(tree, merged)
    return merged


#: Paths of the generated input that no override may change: the structure, the method and
#: charge, and the level of theory (XC, cutoffs, SCF threshold).
PROTECTED_PATHS = (
    ("global", "run_type"),
    ("global", "project"),
    ("force_eval", "method"),
    ("force_eval", "subsys"),
    ("force_eval", "print"),
    ("force_eval", "stress_tensor"),
    ("force_eval", "dft", "charge"),
    ("force_eval", "dft", "multiplicity"),
    ("force_eval", "dft", "uks"),
    ("force_eval", "dft", "xc"),
    ("force_eval", "dft", "poisson"),
    ("force_eval", "dft", "basis_set_file_name"),
    ("force_eval", "dft", "potential_file_name"),
    ("force_eval", "dft", "qs", "method"),
    ("force_eval", "dft", "qs", "xtb"),
    ("force_eval", "dft", "mgrid", "cutoff"),
    ("force_eval", "dft", "mgrid", "rel_cutoff"),
    ("force_eval", "dft", "scf", "eps_scf"),
    ("force_eval", "dft", "scf", "max_scf"),
)


def _at(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if tree is None:
            return None
        if not isinstance(tree, dict):
            return ("not a section", tree)
        tree = tree.get(key)
    return tree


def check_merged(generated: dict[str, Any], merged: dict[str, Any]) -> None:
    """Refuse a merged input whose structure or level of theory differs from the generated one.

    The override allowlist makes this impossible by construction; checking the result as
    well means a future allowlist entry, or an override stored before the allowlist, can never
    run a label with other physics than the one recorded.

    Raises
    ------
    WiseAlError
        Naming the first protected path that changed.
    """
    for path in PROTECTED_PATHS:
        if _at(generated, path) != _at(merged, path):
            raise WiseAlError(
                f"cp2k_overrides would change {'.'.join(path)} of the generated input; "
                "only SCF-solver keywords may be overridden"
            )
    stack = [(merged, "")]
    while stack:  # every section is still a section (a list would have replaced one)
        section, where = stack.pop()
        for key, value in section.items():
            if isinstance(_at(generated, (*where.split(".")[1:], key)), dict) and not isinstance(
                value, dict
            ):
                raise WiseAlError(f"cp2k_overrides replace section {where}.{key} with a value")
            if isinstance(value, dict):
                stack.append((value, f"{where}.{key}"))


@lru_cache(maxsize=1)
def _generator() -> Any:
    # loading the generator parses CP2K's 27 MB input specification (~1.4 s): once per process
    from cp2k_input_tools.generator import CP2KInputGenerator

    return CP2KInputGenerator()


def render_input(tree: dict[str, Any]) -> str:
    """CP2K input text of a nested dict (never string concatenation)."""
    return "\n".join(_generator().line_iter(tree)) + "\n"
