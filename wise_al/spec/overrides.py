"""Validation of user CP2K input overrides, before anything runs.

Overrides are a nested dict in cp2k-input-tools' simplified form, merged into the generated
input. They may only tune how the SCF is solved (an allowlist of sections), never the level
of theory that the typed spec fields own (functional, dispersion, cutoffs, method), never the
structure, and never name a file outside the label's own directory. Whatever passes is
checked against CP2K's input specification (the one cp2k-input-tools ships, or a given
``cp2k --xml``). This is spec data: it needs the cp2k-input-tools library, not a CP2K run.
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Section paths (upper case, from the input root) under which overrides may go.
ALLOWED_PREFIXES = (
    ("FORCE_EVAL", "DFT", "SCF"),
    ("FORCE_EVAL", "DFT", "MGRID"),
    ("FORCE_EVAL", "DFT", "QS"),
    ("FORCE_EVAL", "DFT", "POISSON"),
    ("GLOBAL", "PRINT_LEVEL"),
)

#: Keywords inside the allowed sections that typed spec fields own: the level of theory and
#: the SCF thresholds must be recorded in the spec, not changed behind its back.
OWNED_BY_SPEC = {
    ("FORCE_EVAL", "DFT", "SCF", "EPS_SCF"): "labelling.eps_scf",
    ("FORCE_EVAL", "DFT", "SCF", "MAX_SCF"): "labelling.max_scf",
    ("FORCE_EVAL", "DFT", "MGRID", "CUTOFF"): "labelling.cutoff_Ry",
    ("FORCE_EVAL", "DFT", "MGRID", "REL_CUTOFF"): "labelling.rel_cutoff_Ry",
    ("FORCE_EVAL", "DFT", "QS", "METHOD"): "labelling.method",
    ("FORCE_EVAL", "DFT", "QS", "XTB"): "labelling.method",
}

MAX_DEPTH = 12
MAX_LEAVES = 256
MAX_JSON_BYTES = 65_536

#: Keys are CP2K names (sections may carry a leading + or &; ``_`` is a section parameter).
_KEY = re.compile(r"_|[+&]?[A-Za-z][A-Za-z0-9_-]*")
#: Values: plain words and numbers. No path separators, no preprocessor ($, @), no quotes,
#: no control characters (a newline would start a new input line).
_VALUE = re.compile(r"^[A-Za-z0-9_.+\- ]*$")


class OverrideError(ValueError):
    """An override is not valid CP2K input or is not allowed; ``path`` names where."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _tools(xmlspec: str | None) -> tuple[Any, Any]:
    # Parsing CP2K's 27 MB input specification costs ~2 s each: once per process, and the
    # parser resets its own state at every parse() so one instance is reused (under _LOCK).
    from cp2k_input_tools.generator import CP2KInputGenerator
    from cp2k_input_tools.parser import CP2KInputParser

    if xmlspec:
        return CP2KInputGenerator(xmlspec), CP2KInputParser(xmlspec)
    return CP2KInputGenerator(), CP2KInputParser()


def _leaves(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Yield (path, leaf value, single-leaf subtree) for every leaf of the tree."""
    if len(path) > MAX_DEPTH:
        raise OverrideError(".".join(path), f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            for sub_path, leaf, subtree in _leaves(value, (*path, str(key))):
                yield sub_path, leaf, {key: subtree}
    elif isinstance(tree, list) and tree and all(isinstance(v, dict) for v in tree):
        for index, value in enumerate(tree):
            for sub_path, leaf, subtree in _leaves(value, (*path, f"[{index}]")):
                yield sub_path, leaf, [subtree]
    else:
        yield path, tree, tree


def _check_allowed(path: tuple[str, ...], value: Any) -> None:
    where = ".".join(path)
    for key in path:
        if not key.startswith("[") and not _KEY.fullmatch(key):
            raise OverrideError(where, f"{key!r} is not a CP2K section or keyword name")
    sections = tuple(k.lstrip("+&").upper() for k in path if not k.startswith("["))
    if not any(sections[: len(prefix)] == prefix for prefix in ALLOWED_PREFIXES):
        allowed = ", ".join(".".join(p).lower() for p in ALLOWED_PREFIXES)
        raise OverrideError(where, f"overrides may only tune {allowed}")
    for owned, field in OWNED_BY_SPEC.items():
        if sections[: len(owned)] == owned:
            raise OverrideError(where, f"set {field} instead: the spec records it")
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, float) and not math.isfinite(item):
            raise OverrideError(where, "NaN and infinity are not CP2K values")
        if isinstance(item, str) and (not _VALUE.fullmatch(item) or ".." in item):
            raise OverrideError(
                where, f"value {item!r} may only hold letters, digits, '.', '+', '-', '_'"
            )
        if not isinstance(item, str | bool | int | float):
            raise OverrideError(where, f"value of type {type(item).__name__} is not CP2K input")


def validate_overrides(overrides: dict[str, Any], xmlspec: Path | None = None) -> None:
    """Check that ``overrides`` is allowed, safe and valid CP2K input.

    Parameters
    ----------
    overrides
        Nested dict in cp2k-input-tools' simplified form, e.g.
        ``{"force_eval": {"dft": {"scf": {"outer_scf": {"max_scf": 20}}}}}``.
    xmlspec
        CP2K input specification (``cp2k --xml``); cp2k-input-tools' bundled one by default.

    Raises
    ------
    OverrideError
        Naming the dotted path of the first offending entry and why.
    """
    size = len(json.dumps(overrides, default=str))
    if size > MAX_JSON_BYTES:
        raise OverrideError("", f"{size} bytes of overrides; at most {MAX_JSON_BYTES}")
    leaves = list(_leaves(overrides))
    if len(leaves) > MAX_LEAVES:
        raise OverrideError("", f"{len(leaves)} override values; at most {MAX_LEAVES}")
    for path, value, _ in leaves:
        _check_allowed(path, value)
    generator, parser = _tools(str(xmlspec) if xmlspec else None)
    if _parses(generator, parser, overrides) is None:
        return
    for path, _, subtree in leaves:  # only on failure: find which leaf is wrong
        reason = _parses(generator, parser, subtree)
        if reason is not None:
            raise OverrideError(".".join(path), f"not valid CP2K input ({reason})")
    raise OverrideError("", "not valid CP2K input as a whole")


def _parses(generator: Any, parser: Any, tree: Any) -> str | None:
    """None if ``tree`` renders to input CP2K's spec accepts, else a short reason."""
    try:
        text = "\n".join(generator.line_iter(tree))
        with _LOCK:
            parser.parse(io.StringIO(text))
    except Exception as exc:  # cp2k-input-tools raises many unrelated types
        reason = str(exc).split("\n")[0] or type(exc).__name__
        return re.sub(r"\s*\(?Context\(.*$", "", reason)[:200]
    return None
