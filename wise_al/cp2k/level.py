"""The level of theory of a label: what it is, how it maps to CP2K, and its fingerprint.

A label's numbers are only comparable with labels of the same level of theory (the
dispersion choice alone changes the science), so every label carries a record of it and
a hash of that record; training sets refuse to mix hashes unless one is chosen explicitly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wise_al.cp2k.installation import Cp2kInstallation, Cp2kUnavailable
from wise_al.errors import WiseAlError
from wise_al.spec.labelling import LabellingSpec

#: Valence electrons of the GTH pseudopotentials used for each element (Goedecker-Teter-Hutter).
GTH_VALENCE: dict[str, int] = {
    "H": 1, "He": 2, "Li": 3, "Be": 4, "B": 3, "C": 4, "N": 5, "O": 6, "F": 7, "Ne": 8,
    "Na": 9, "Mg": 10, "Al": 3, "Si": 4, "P": 5, "S": 6, "Cl": 7, "Ar": 8, "K": 9, "Ca": 10,
}  # fmt: skip

#: Pseudopotential family and the file that holds it, per functional.
POTENTIALS: dict[str, tuple[str, str]] = {
    "PBE": ("GTH-PBE", "GTH_POTENTIALS"),
    "revPBE": ("GTH-PBE", "GTH_POTENTIALS"),  # the usual choice: no revPBE-specific GTH set
    "BLYP": ("GTH-BLYP", "GTH_POTENTIALS"),
    "r2SCAN": ("GTH-SCAN", "POTENTIAL_UZH"),
}

#: Basis files searched for basis names (repeatable BASIS_SET_FILE_NAME).
BASIS_FILES = ("BASIS_MOLOPT", "BASIS_MOLOPT_UZH")

#: Functionals CP2K 2023.1 has D3 and D3(BJ) parameters for (qs_dispersion_pairpot.F).
D3_REFERENCE_FUNCTIONALS = frozenset({"PBE", "revPBE", "BLYP"})

#: libxc sections r2SCAN needs in the build's input specification.
R2SCAN_SECTIONS = ("MGGA_X_R2SCAN", "MGGA_C_R2SCAN")


@dataclass(frozen=True)
class Kind:
    """Basis set and pseudopotential of one element."""

    element: str
    basis: str
    potential: str


def kinds(spec: LabellingSpec, elements: Iterable[str]) -> list[Kind]:
    """Basis and GTH pseudopotential per element of a DFT label."""
    assert spec.functional is not None  # filled in by the spec for method "dft"
    family = POTENTIALS[spec.functional][0]
    out = []
    for element in sorted(set(elements)):
        if element not in GTH_VALENCE:
            raise WiseAlError(f"no GTH pseudopotential valence known for element {element}")
        basis = spec.basis_per_element.get(element, spec.basis)
        out.append(Kind(element, basis, f"{family}-q{GTH_VALENCE[element]}"))
    return out


def preflight(spec: LabellingSpec, elements: Iterable[str], cp2k: Cp2kInstallation) -> None:
    """Refuse, before any run, a level of theory this CP2K build cannot compute.

    Raises
    ------
    Cp2kUnavailable
        Naming the spec field and what is missing.
    """
    elements = sorted(set(elements))
    if spec.method == "xtb":
        return
    if spec.functional == "r2SCAN" and not all(
        cp2k.has_libxc_functional(s) for s in R2SCAN_SECTIONS
    ):
        raise Cp2kUnavailable(
            f"labelling.functional: r2SCAN needs CP2K with libxc >= 5.1; CP2K {cp2k.version} "
            f"at {cp2k.binary} lacks {' / '.join(R2SCAN_SECTIONS)}"
        )
    if spec.dispersion != "none" and spec.functional not in D3_REFERENCE_FUNCTIONALS:
        raise Cp2kUnavailable(
            f"labelling.dispersion: CP2K has no {spec.dispersion} parameters for "
            f"{spec.functional}; use dispersion none or one of "
            f"{', '.join(sorted(D3_REFERENCE_FUNCTIONALS))}"
        )
    assert spec.functional is not None
    potentials = cp2k.basis_sets(POTENTIALS[spec.functional][1])
    bases: dict[str, set[str]] = {}
    for name in BASIS_FILES:
        for element, names in cp2k.basis_sets(name).items():
            bases.setdefault(element, set()).update(names)
    for kind in kinds(spec, elements):
        if kind.basis not in bases.get(kind.element, set()):
            raise Cp2kUnavailable(
                f"labelling.basis: no basis set {kind.basis!r} for {kind.element} in "
                f"{' or '.join(BASIS_FILES)} of {cp2k.data_dir}"
            )
        if kind.potential not in potentials.get(kind.element, set()):
            raise Cp2kUnavailable(
                f"labelling.functional: no pseudopotential {kind.potential} for "
                f"{kind.element} in {POTENTIALS[spec.functional][1]} of {cp2k.data_dir}"
            )


def level_of_theory(spec: LabellingSpec, elements: Iterable[str], version: str) -> dict[str, Any]:
    """The record stored with every label: everything that changes the numbers.

    SCF solver settings, guesses and rescue rungs converge to the same answer and are not
    part of it; ``eps_scf`` is, because it bounds the error of every number.
    """
    record: dict[str, Any] = {
        "code": "CP2K",
        "code_version": version,
        "method": "GFN1-xTB" if spec.method == "xtb" else "GPW-DFT",
        "eps_scf": spec.eps_scf,
    }
    if spec.method == "dft":
        record |= {
            "functional": spec.functional,
            "dispersion": spec.dispersion,
            "cutoff_Ry": spec.cutoff_Ry,
            "rel_cutoff_Ry": spec.rel_cutoff_Ry,
            "basis": {k.element: k.basis for k in kinds(spec, elements)},
            "pseudopotential": {k.element: k.potential for k in kinds(spec, elements)},
        }
    return record


def sha256_of(record: dict[str, Any]) -> str:
    """Stable hash of a JSON-able record (sorted keys, no whitespace)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class MixedLevelsError(WiseAlError):
    """Labels of different levels of theory would end up in one training set."""


def single_level(level_hashes: Iterable[str], chosen: str | None = None) -> str:
    """The one level of theory of a set of labels, or the explicitly chosen one.

    Raises
    ------
    MixedLevelsError
        If the labels hold several levels and none was chosen, or the chosen one is absent.
    """
    found = sorted(set(level_hashes))
    if chosen is not None:
        if chosen not in found:
            raise MixedLevelsError(f"no label has level of theory {chosen[:12]}")
        return chosen
    if len(found) > 1:
        short = ", ".join(h[:12] for h in found)
        raise MixedLevelsError(f"labels of {len(found)} levels of theory ({short}): choose one")
    if not found:
        raise MixedLevelsError("no labels")
    return found[0]


def spec_from_level(record: dict[str, Any]) -> LabellingSpec:
    """The labelling spec that reproduces a level-of-theory record (for E0s at that level).

    Raises
    ------
    WiseAlError
        If the record is not one :func:`level_of_theory` wrote.
    """
    try:
        if record["method"] == "GFN1-xTB":
            return LabellingSpec(method="xtb", eps_scf=record["eps_scf"])
        bases = set(record["basis"].values())
        common = bases.pop() if len(bases) == 1 else None
        return LabellingSpec(
            method="dft",
            functional=record["functional"],
            dispersion=record["dispersion"],
            cutoff_Ry=record["cutoff_Ry"],
            rel_cutoff_Ry=record["rel_cutoff_Ry"],
            eps_scf=record["eps_scf"],
            **({"basis": common} if common else {"basis_per_element": record["basis"]}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WiseAlError(f"not a level-of-theory record ({exc})") from None
