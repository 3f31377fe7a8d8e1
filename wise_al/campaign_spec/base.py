"""Shared base of every spec model: strict, finite, documented."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from wise_al.systems.species import ELEMENT_SYMBOLS

#: Control characters: refused in every string (a NUL breaks PostgreSQL, a newline a path or a
#: CP2K input line). Free text (``description``) may keep tab and newline.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
FREE_TEXT_FIELDS = frozenset({"description"})
#: Free text: no control characters but tab and newlines (PostgreSQL refuses NUL in text).
FREE_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

# The MD vocabulary, declared once: walkers, validation, production and reference MD say
# their ensemble, driver and dispersion in these words.
#: NVT keeps the cell; NPT lets it change (the only way to measure a density).
Ensemble = Literal["NVT", "NPT"]
#: What moves the atoms: the committee's mean force, or member 0 alone (the others judge
#: the saved frames).
Driver = Literal["committee_mean", "member"]
#: Dispersion added at MD time: ``none``, or Grimme D3 with Becke-Johnson or zero damping.
Dispersion = Literal["none", "d3bj", "d3zero"]
#: The largest value a 32-bit signed column holds: ids, seeds and indices stay under it.
MAX_INT32 = 2**31 - 1
#: A random seed the database can store.
Seed = Annotated[int, Field(ge=0, le=MAX_INT32)]
Description = Annotated[str, Field(max_length=10_000, pattern=FREE_TEXT_PATTERN)]


def first_control_character(value: Any, pattern: re.Pattern[str] = _CONTROL) -> str | None:
    """The first control character in a string, or in the keys and values of lists and dicts."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = pattern.search(item)
            if found:
                return found.group()
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


class StrictModel(BaseModel):
    """A spec section: unknown fields are errors, NaN and infinities are refused."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        protected_namespaces=(),
        validate_default=True,
        strict=True,  # "8" is not 8 and true is not 1; ints still widen to floats
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, BaseModel):  # validated as a model of its own
            return value
        text = info.field_name in FREE_TEXT_FIELDS
        bad = first_control_character(value, _CONTROL_IN_TEXT if text else _CONTROL)
        if bad is not None:
            raise ValueError(f"control character {bad!r} is not allowed")
        return value


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
