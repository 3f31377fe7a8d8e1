"""CP2K inputs from a labelling spec and a frame, built as a nested dict (cp2k-input-tools).

GFN1-xTB runs inside CP2K's Quickstep (``&QS METHOD XTB``); GPW DFT comes in a later step.
Charge follows the composition (Li+ +1, TFSI- -1), the cell and periodicity the frame, and
forces (and stress for periodic cells) are printed.
"""

from __future__ import annotations

from typing import Any

from ase import Atoms

from wise_al.errors import WiseAlError
from wise_al.spec.labelling import LabellingSpec


def frame_charge_e(atoms: Atoms) -> int:
    """Total charge from the molecules' composition: Li+ +1 and TFSI- (one N each) -1.

    Water is neutral; a LiTFSI/water frame is neutral, a Li+ water cluster is +1.
    """
    symbols = atoms.get_chemical_symbols()
    return symbols.count("Li") - symbols.count("N")


def _subsys(atoms: Atoms) -> dict[str, Any]:
    cell = atoms.cell
    if cell.rank < 3:
        raise WiseAlError("a CP2K label needs a 3D cell (a box around a cluster is fine)")
    periodic = "".join(axis for axis, p in zip("XYZ", atoms.pbc, strict=True) if p) or "NONE"
    coords = [
        f"{s} {x:.16e} {y:.16e} {z:.16e}"
        for s, (x, y, z) in zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)
    ]
    return {
        "cell": {
            **{
                axis: " ".join(f"{v:.16e}" for v in vector)
                for axis, vector in zip("ABC", cell, strict=True)
            },
            "periodic": periodic,
        },
        "coord": {"*": coords},
    }


def build_input(spec: LabellingSpec, atoms: Atoms, project: str = "label") -> dict[str, Any]:
    """The whole CP2K input of one label, as cp2k-input-tools' simplified nested dict."""
    if spec.method != "xtb":
        raise WiseAlError("GPW DFT inputs are not built yet: use labelling.method xtb")
    periodic = bool(atoms.pbc.any())
    dft: dict[str, Any] = {
        "charge": frame_charge_e(atoms),
        "multiplicity": 1,
        "qs": {"method": "XTB", "xtb": {"do_ewald": periodic}},
        "scf": {
            "eps_scf": spec.eps_scf,
            "max_scf": spec.max_scf,
            "scf_guess": "ATOMIC",
            "mixing": {"method": "BROYDEN_MIXING"},
        },
    }
    if not periodic:
        dft["poisson"] = {"periodic": "NONE", "psolver": "MT"}
    force_eval: dict[str, Any] = {
        "method": "QS",
        "dft": dft,
        "subsys": _subsys(atoms),
        "print": {"forces": {"_": "ON", "ndigits": 15}},
    }
    if atoms.pbc.all():
        force_eval["stress_tensor"] = "ANALYTICAL"
        force_eval["print"]["stress_tensor"] = {"_": "ON"}
    return {
        "global": {"project": project, "run_type": "ENERGY_FORCE", "print_level": "LOW"},
        "force_eval": force_eval,
    }


def render_input(tree: dict[str, Any]) -> str:
    """CP2K input text of a nested dict (never string concatenation)."""
    from cp2k_input_tools.generator import CP2KInputGenerator

    return "\n".join(CP2KInputGenerator().line_iter(tree)) + "\n"
