"""The ``labelling`` section: the level of theory of every label, and how CP2K runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from wise_al.campaign_spec.base import StrictModel, check_element
from wise_al.campaign_spec.overrides import validate_overrides

FUNCTIONALS = ("PBE", "revPBE", "BLYP", "r2SCAN")
DISPERSIONS = ("none", "D3", "D3BJ")


def _canonical(choices: tuple[str, ...]) -> BeforeValidator:
    """Accept any letter case (``d3bj``, ``pbe``) and store the canonical spelling."""
    by_lower = {c.lower().replace("(", "").replace(")", ""): c for c in choices}

    def canonical(value: object) -> object:
        if isinstance(value, str):
            key = value.lower().replace("(", "").replace(")", "")
            return by_lower.get(key, value)
        return value

    return BeforeValidator(canonical)


#: Fields that say how CP2K runs, not what it computes.
RUN_ONLY_FIELDS = {"cores", "time_limit_s", "max_scf"}

#: A basis set name as in CP2K's BASIS_MOLOPT: no spaces, paths or control characters.
BasisName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._()+-]*$", max_length=80)]

Functional = Annotated[Literal[FUNCTIONALS], _canonical(FUNCTIONALS)]  # type: ignore[valid-type]
Dispersion = Annotated[Literal[DISPERSIONS], _canonical(DISPERSIONS)]  # type: ignore[valid-type]


#: Grid cutoffs (Ry) when the spec names none, per functional family, and why:
#: - GGAs with DZVP-MOLOPT-SR-GTH: 400 Ry converges energies and forces of aqueous systems,
#:   but every periodic label also carries a stress, and the stress converges more slowly with
#:   the plane-wave cutoff (Pulay stress); 600 Ry keeps it within ~0.1 GPa;
#: - r2SCAN: a meta-GGA depends on the kinetic energy density, which needs a much finer grid
#:   for stable energies and stresses; 1000 Ry.
#: ``wise-al converge-cutoff`` measures the change per step on a frame of your own.
DEFAULT_CUTOFF_RY = {"GGA": 600.0, "r2SCAN": 1000.0}
DEFAULT_REL_CUTOFF_RY = 60.0
#: The SCAN-optimised MOLOPT basis (BASIS_MOLOPT_UZH), matching the GTH-SCAN pseudopotentials;
#: its names end in the valence (``-q6``), added per element.
R2SCAN_BASIS = "DZVP-MOLOPT-SCAN-GTH"
GGA_BASIS = "DZVP-MOLOPT-SR-GTH"


class LabellingSpec(StrictModel):
    """Reference calculations: GFN1-xTB inside CP2K, or GPW DFT.

    With ``method: dft`` the functional defaults to PBE and the dispersion to ``none``, the
    basis and cutoffs to the functional's (:data:`DEFAULT_CUTOFF_RY`); all are stored filled
    in, so every label's level of theory is explicit.
    """

    method: Literal["xtb", "dft"] = "xtb"
    functional: Functional | None = None
    dispersion: Dispersion | None = None
    basis: BasisName | None = None
    basis_per_element: dict[str, BasisName] = Field(default_factory=dict)
    cutoff_Ry: Annotated[float, Field(ge=50, le=3000)] | None = None
    rel_cutoff_Ry: Annotated[float, Field(ge=10, le=500)] | None = None
    eps_scf: Annotated[float, Field(gt=0, le=1e-3)] = 1e-6
    max_scf: Annotated[int, Field(ge=1, le=10_000)] = 50
    cores: Annotated[int, Field(ge=1, le=100_000)] = 1
    time_limit_s: Annotated[int, Field(ge=10, le=7 * 24 * 3600)] = 3600
    cp2k_overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="nested CP2K input (cp2k-input-tools simplified form) merged into the input",
    )

    def same_level(self, other: LabellingSpec) -> bool:
        """Whether two sections compute the same numbers (how CP2K is launched aside)."""
        return self.model_dump(exclude=RUN_ONLY_FIELDS) == other.model_dump(exclude=RUN_ONLY_FIELDS)

    @field_validator("basis_per_element")
    @classmethod
    def _elements(cls, basis: dict[str, str]) -> dict[str, str]:
        for element in basis:
            check_element(element)
        return basis

    @field_validator("cp2k_overrides")
    @classmethod
    def _valid_cp2k(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        return validate_overrides(overrides) if overrides else overrides

    @model_validator(mode="after")
    def _level_of_theory(self) -> LabellingSpec:
        if self.method == "xtb":
            given = [n for n in ("functional", "dispersion") if getattr(self, n) is not None]
            if given:
                raise ValueError(
                    f"{' and '.join(given)} apply to method 'dft' only "
                    "(GFN1-xTB has its own dispersion)"
                )
        else:
            self.functional = self.functional or "PBE"
            self.dispersion = self.dispersion or "none"
            r2scan = self.functional == "r2SCAN"
            if r2scan and self.dispersion == "D3":
                raise ValueError(
                    "dispersion: r2SCAN takes D3BJ (the published r2SCAN-D3(BJ) parameters); "
                    "zero-damping D3 has no parameters for it in CP2K"
                )
            self.basis = self.basis or (R2SCAN_BASIS if r2scan else GGA_BASIS)
            self.cutoff_Ry = self.cutoff_Ry or DEFAULT_CUTOFF_RY["r2SCAN" if r2scan else "GGA"]
            self.rel_cutoff_Ry = self.rel_cutoff_Ry or DEFAULT_REL_CUTOFF_RY
        return self
