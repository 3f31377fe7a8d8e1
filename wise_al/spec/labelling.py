"""The ``labelling`` section: the level of theory of every label, and how CP2K runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from wise_al.cp2k.overrides import validate_overrides
from wise_al.spec.base import StrictModel, check_element

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


#: A basis set name as in CP2K's BASIS_MOLOPT: no spaces, paths or control characters.
BasisName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._()+-]*$", max_length=80)]

Functional = Annotated[Literal[FUNCTIONALS], _canonical(FUNCTIONALS)]  # type: ignore[valid-type]
Dispersion = Annotated[Literal[DISPERSIONS], _canonical(DISPERSIONS)]  # type: ignore[valid-type]


class LabellingSpec(StrictModel):
    """Reference calculations: GFN1-xTB inside CP2K, or GPW DFT.

    With ``method: dft`` the functional defaults to PBE and the dispersion to ``none``; both are
    stored filled in, so every label's level of theory is explicit.
    """

    method: Literal["xtb", "dft"] = "xtb"
    functional: Functional | None = None
    dispersion: Dispersion | None = None
    basis: BasisName = "DZVP-MOLOPT-SR-GTH"
    basis_per_element: dict[str, BasisName] = Field(default_factory=dict)
    cutoff_Ry: Annotated[float, Field(ge=50, le=3000)] = 400.0
    rel_cutoff_Ry: Annotated[float, Field(ge=10, le=500)] = 50.0
    eps_scf: Annotated[float, Field(gt=0, le=1e-3)] = 1e-6
    max_scf: Annotated[int, Field(ge=1, le=10_000)] = 50
    cores: Annotated[int, Field(ge=1, le=100_000)] = 1
    time_limit_s: Annotated[int, Field(ge=10, le=7 * 24 * 3600)] = 3600
    cp2k_overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="nested CP2K input (cp2k-input-tools simplified form) merged into the input",
    )

    @field_validator("basis_per_element")
    @classmethod
    def _elements(cls, basis: dict[str, str]) -> dict[str, str]:
        for element in basis:
            check_element(element)
        return basis

    @field_validator("cp2k_overrides")
    @classmethod
    def _valid_cp2k(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        if overrides:
            validate_overrides(overrides)
        return overrides

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
        return self
