"""Shared base of every spec model: strict, finite, documented."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from wise_al.systems.species import ELEMENT_SYMBOLS


class StrictModel(BaseModel):
    """A spec section: unknown fields are errors, NaN and infinities are refused."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        protected_namespaces=(),
        validate_default=True,
        strict=True,  # "8" is not 8 and true is not 1; ints still widen to floats
    )


def check_element(symbol: str) -> str:
    """Return ``symbol`` if it is a real element symbol, else raise a readable ValueError."""
    if symbol not in ELEMENT_SYMBOLS:
        raise ValueError(f"unknown element {symbol!r} (element symbols are case-sensitive: Li, O)")
    return symbol


def parse_element_pair(key: str) -> tuple[str, str]:
    """Parse ``"Li-Li"`` into its two element symbols, in the order given."""
    parts = key.split("-")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"pair {key!r} must be two element symbols joined by '-', e.g. 'Li-Li'")
    first, second = (check_element(p.strip()) for p in parts)
    return first, second


def check_pair_keys(pairs: dict[str, float]) -> dict[str, float]:
    """Validate element-pair keys and refuse a pair given twice (``Li-O`` and ``O-Li``)."""
    seen: dict[tuple[str, ...], str] = {}
    for key in pairs:
        canonical = tuple(sorted(parse_element_pair(key)))
        if canonical in seen:
            raise ValueError(f"pair {key!r} repeats {seen[canonical]!r}")
        seen[canonical] = key
    return pairs


def check_elements_present(used: set[str], present: set[str], what: str) -> None:
    """Raise when ``what`` names elements the system does not contain (likely a typo)."""
    missing = sorted(used - present)
    if missing:
        raise ValueError(
            f"{what} names {', '.join(missing)}, not in this system "
            f"(elements: {', '.join(sorted(present))})"
        )
