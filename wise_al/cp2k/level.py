"""The level of theory of a label: what it is, how it maps to CP2K, and its fingerprint.

A label's numbers are only comparable with labels of the same level of theory (the
dispersion choice alone changes the science), so every label carries a record of it and
a hash of that record; training sets refuse to mix hashes unless one is chosen explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.installation import Cp2kInstallation, Cp2kUnavailable
from wise_al.cp2k.parse import KNOWN_VERSIONS, release
from wise_al.errors import WiseAlError

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

#: r2SCAN-D3(BJ) (s6, a1, s8, a2): Ehlert et al., J. Chem. Phys. 154, 061101 (2021),
#: doi:10.1063/5.0041008 (the paper fits r2SCAN-D4 and reports these D3(BJ) values beside).
#: CP2K 2023.1 has no r2SCAN entry of its own: they go in through D3BJ_SCALING.
R2SCAN_D3BJ = (1.0, 0.49484001, 0.78981345, 5.73083694)

#: Basis families of BASIS_MOLOPT_UZH, whose names end in the valence they were made for.
VALENCE_SUFFIXED_FAMILIES = ("MOLOPT-SCAN-GTH", "MOLOPT-PBE-GTH")

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
        valence = GTH_VALENCE[element]
        basis = spec.basis_per_element.get(element, spec.basis) or ""
        if basis.endswith(VALENCE_SUFFIXED_FAMILIES):
            basis = f"{basis}-q{valence}"  # DZVP-MOLOPT-SCAN-GTH-q6 for O
        out.append(Kind(element, basis, f"{family}-q{valence}"))
    return out


def preflight(spec: LabellingSpec, elements: Iterable[str], cp2k: Cp2kInstallation) -> None:
    """Refuse, before any run, a level of theory this CP2K build cannot compute or report.

    Raises
    ------
    Cp2kUnavailable
        Naming the spec field and what is missing.
    """
    if release(cp2k.version) not in KNOWN_VERSIONS:
        raise Cp2kUnavailable(
            f"CP2K {cp2k.version} at {cp2k.binary}: wise-al reads the output of CP2K "
            f"{', '.join(KNOWN_VERSIONS)} only (its energy, force and failure lines change "
            "between releases); point WISE_AL_CP2K_BINARY at one of those"
        )
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
    r2scan_bj = spec.functional == "r2SCAN" and spec.dispersion == "D3BJ"
    if (
        spec.dispersion != "none"
        and spec.functional not in D3_REFERENCE_FUNCTIONALS
        and not r2scan_bj
    ):
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


#: Parameter files GFN1-xTB reads (CP2K's &XTB PARAMETER defaults).
XTB_FILES = ("xTB_parameters", "dftd3.dat")


def data_files(spec: LabellingSpec) -> tuple[str, ...]:
    """The CP2K data files a label at this level reads: their contents change the numbers."""
    if spec.method == "xtb":
        return XTB_FILES
    assert spec.functional is not None
    files = (*BASIS_FILES, POTENTIALS[spec.functional][1])
    return (*files, "dftd3.dat") if spec.dispersion != "none" else files


def _canonical_keys(tree: Any) -> Any:
    """Overrides with CP2K's case-insensitive names in one spelling (lower case, no ``+&``)."""
    if isinstance(tree, dict):
        return {str(k).lstrip("+&").lower(): _canonical_keys(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_canonical_keys(v) for v in tree]
    return tree


def level_of_theory(
    spec: LabellingSpec, elements: Iterable[str], cp2k: Cp2kInstallation
) -> dict[str, Any]:
    """The record stored with every label: everything that changes the numbers.

    The method and its settings, every CP2K input override (whatever it tunes, it is in the
    input the numbers came from), the CP2K version and build, and the content hash of each
    data file the calculation reads. Rescue rungs are not part of it: they change how the
    SCF is solved, are recorded per attempt, and converge to the same answer within
    ``eps_scf``, which is part of it because it bounds the error of every number.
    """
    record: dict[str, Any] = {
        "code": "CP2K",
        "code_version": cp2k.version,
        "code_build": cp2k.build,
        "method": "GFN1-xTB" if spec.method == "xtb" else "GPW-DFT",
        "eps_scf": spec.eps_scf,
        "cp2k_overrides": _canonical_keys(spec.cp2k_overrides),
        "data_files_sha256": {name: cp2k.data_file_sha256(name) for name in data_files(spec)},
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
        if spec.functional == "r2SCAN" and spec.dispersion == "D3BJ":
            record["dispersion_parameters"] = dict(
                zip(("s6", "a1", "s8", "a2"), R2SCAN_D3BJ, strict=True)
            )
    return record


def spec_from_level(record: dict[str, Any]) -> LabellingSpec:
    """The labelling spec that reproduces a level-of-theory record (for E0s at that level).

    Raises
    ------
    WiseAlError
        If the record is not one :func:`level_of_theory` wrote.
    """
    try:
        overrides = record.get("cp2k_overrides", {})
        if record["method"] == "GFN1-xTB":
            return LabellingSpec(method="xtb", eps_scf=record["eps_scf"], cp2k_overrides=overrides)
        bases = set(record["basis"].values())
        common = bases.pop() if len(bases) == 1 else None
        return LabellingSpec(
            method="dft",
            cp2k_overrides=overrides,
            functional=record["functional"],
            dispersion=record["dispersion"],
            cutoff_Ry=record["cutoff_Ry"],
            rel_cutoff_Ry=record["rel_cutoff_Ry"],
            eps_scf=record["eps_scf"],
            **({"basis": common} if common else {"basis_per_element": record["basis"]}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WiseAlError(f"not a level-of-theory record ({exc})") from None
