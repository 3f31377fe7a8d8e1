"""Validation of user CP2K input overrides, before anything runs.

Overrides are a nested dict in cp2k-input-tools' simplified form, merged into the generated
input. They are data, not input text: sections are mappings (a list, which would replace a
generated section wholesale, is refused), and every value sets one keyword of an allowlist
(:data:`ALLOWED`) within its bounds. They may only tune how the SCF is solved, never the level
of theory that the typed spec fields own (functional, dispersion, cutoffs, method), never the
structure, and never name a file. Whatever passes is checked against CP2K's input
specification (the one cp2k-input-tools ships, or a given ``cp2k --xml``); the merged input is
checked again against the generated one (:func:`wise_al.cp2k.input.build_input`). This is spec
data: it needs the cp2k-input-tools library, not a CP2K run.
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Rule:
    """What one overridable keyword may hold: a bounded number, a switch or one of a few words."""

    kind: Literal["int", "float", "bool", "choice"]
    low: float = 0.0
    high: float = 0.0
    choices: tuple[str, ...] = ()

    def check(self, where: str, value: Any) -> Any:
        """The value, canonical (choices upper case), or :class:`OverrideError` saying why not."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise OverrideError(where, "must be true or false")
            return value
        if self.kind == "choice":
            word = value.upper() if isinstance(value, str) else None
            if word not in self.choices:
                raise OverrideError(where, f"must be one of {', '.join(self.choices)}")
            return word
        number_types = (int,) if self.kind == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, number_types):
            raise OverrideError(
                where, f"must be {'an integer' if self.kind == 'int' else 'a number'}"
            )
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise OverrideError(where, f"must lie in [{self.low:g}, {self.high:g}], not {value!r}")
        return value


def _choice(*words: str) -> Rule:
    return Rule("choice", choices=words)


_SCF = ("FORCE_EVAL", "DFT", "SCF")

#: Every keyword an override may set, with its bounds. Overrides tune how the SCF converges
#: and how much is printed, never what is computed: smearing, Poisson solvers, restraints,
#: external fields and multigrid cutoffs change the numbers and are not here. EPS_DEFAULT may
#: only tighten CP2K's default (1e-10), NGRIDS and the buffers are bounded so no override can
#: make a worker allocate without limit.
ALLOWED: dict[tuple[str, ...], Rule] = {
    (*_SCF, "SCF_GUESS"): _choice("ATOMIC", "RESTART", "CORE", "RANDOM", "MOPAC"),
    (*_SCF, "ADDED_MOS"): Rule("int", 0, 200),
    (*_SCF, "EPS_DIIS"): Rule("float", 1e-6, 1.0),
    (*_SCF, "MAX_DIIS"): Rule("int", 1, 50),
    (*_SCF, "LEVEL_SHIFT"): Rule("float", 0.0, 1.0),
    (*_SCF, "OT", "_"): Rule("bool"),
    (*_SCF, "OT", "MINIMIZER"): _choice("DIIS", "CG", "BROYDEN", "SD"),
    (*_SCF, "OT", "PRECONDITIONER"): _choice(
        "FULL_SINGLE_INVERSE", "FULL_ALL", "FULL_KINETIC", "FULL_S_INVERSE", "NONE"
    ),
    (*_SCF, "OT", "ENERGY_GAP"): Rule("float", 1e-4, 1.0),
    (*_SCF, "OT", "LINESEARCH"): _choice("2PNT", "3PNT", "GOLD", "ADAPT", "NONE"),
    (*_SCF, "OT", "N_HISTORY_VEC"): Rule("int", 1, 50),
    (*_SCF, "OT", "SAFE_DIIS"): Rule("bool"),
    (*_SCF, "OT", "STEPSIZE"): Rule("float", 1e-3, 1.0),
    (*_SCF, "OUTER_SCF", "_"): Rule("bool"),
    (*_SCF, "OUTER_SCF", "MAX_SCF"): Rule("int", 1, 200),
    (*_SCF, "OUTER_SCF", "EPS_SCF"): Rule("float", 1e-10, 1e-3),
    (*_SCF, "MIXING", "_"): Rule("bool"),
    (*_SCF, "MIXING", "METHOD"): _choice(
        "DIRECT_P_MIXING", "KERKER_MIXING", "PULAY_MIXING", "BROYDEN_MIXING"
    ),
    (*_SCF, "MIXING", "ALPHA"): Rule("float", 0.01, 1.0),
    (*_SCF, "MIXING", "BETA"): Rule("float", 0.01, 10.0),
    (*_SCF, "MIXING", "NBUFFER"): Rule("int", 1, 20),
    (*_SCF, "DIAGONALIZATION", "_"): Rule("bool"),
    (*_SCF, "DIAGONALIZATION", "ALGORITHM"): _choice("STANDARD", "DAVIDSON"),
    ("FORCE_EVAL", "DFT", "QS", "EPS_DEFAULT"): Rule("float", 1e-16, 1e-10),
    ("FORCE_EVAL", "DFT", "MGRID", "NGRIDS"): Rule("int", 1, 8),
    ("GLOBAL", "PRINT_LEVEL"): _choice("LOW", "MEDIUM"),
}  # fmt: skip

#: Keywords that typed spec fields own: the level of theory and the SCF thresholds must be
#: recorded in the spec, not changed behind its back (a kinder error than "not allowed").
OWNED_BY_SPEC = {
    (*_SCF, "EPS_SCF"): "labelling.eps_scf",
    (*_SCF, "MAX_SCF"): "labelling.max_scf",
    ("FORCE_EVAL", "DFT", "MGRID", "CUTOFF"): "labelling.cutoff_Ry",
    ("FORCE_EVAL", "DFT", "MGRID", "REL_CUTOFF"): "labelling.rel_cutoff_Ry",
    ("FORCE_EVAL", "DFT", "QS", "METHOD"): "labelling.method",
    ("FORCE_EVAL", "DFT", "QS", "XTB"): "labelling.method",
    ("FORCE_EVAL", "DFT", "XC"): "labelling.functional and labelling.dispersion",
}

_SECTIONS = {path[:depth] for path in ALLOWED for depth in range(1, len(path))}

MAX_DEPTH = 12
MAX_LEAVES = 256
MAX_JSON_BYTES = 65_536

#: Keys are CP2K names (sections may carry a leading + or &; ``_`` is a section parameter).
_KEY = re.compile(r"_|[+&]?[A-Za-z][A-Za-z0-9_-]*")


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


def _refusal(path: tuple[str, ...]) -> str:
    for owned, field in OWNED_BY_SPEC.items():
        if path[: len(owned)] == owned:
            return f"set {field} instead: the spec records it"
    return (
        f"overrides may only tune how the SCF converges; {'.'.join(path).lower()} is not one "
        f"of the {len(ALLOWED)} keywords they may set (the README lists them)"
    )


def _entries(tree: Any) -> int:
    """Number of keys at every depth (counted before anything is checked, so it stays cheap)."""
    count, stack = 0, [tree]
    while stack and count <= MAX_LEAVES:
        node = stack.pop()
        items = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        count += len(node) if isinstance(node, dict) else 0
        stack.extend(v for v in items if isinstance(v, dict | list))
    return count


def _checked(tree: Any, path: tuple[str, ...], where: str) -> dict[str, Any]:
    """A copy of a section with every value checked against :data:`ALLOWED`, canonical."""
    if not isinstance(tree, dict):
        raise OverrideError(where, "must be a section: a mapping of CP2K names to values")
    if len(path) >= MAX_DEPTH:
        raise OverrideError(where, f"nested deeper than {MAX_DEPTH} levels")
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for key, value in tree.items():
        here = f"{where}.{key}" if where else str(key)
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise OverrideError(here, f"{key!r} is not a CP2K section or keyword name")
        name = key.lstrip("+&").upper()
        if name in seen:
            raise OverrideError(here, "given twice (CP2K names ignore case)")
        seen.add(name)
        sub = (*path, name)
        if isinstance(value, list):
            # a list would replace the generated section (or keyword) wholesale on merge
            raise OverrideError(here, "a list is not allowed: overrides set single keywords")
        if isinstance(value, dict):
            if sub not in _SECTIONS:
                raise OverrideError(here, _refusal(sub))
            out[key] = _checked(value, sub, here)
        elif sub in ALLOWED:
            out[key] = ALLOWED[sub].check(here, value)
        else:
            raise OverrideError(here, _refusal(sub))
    return out


def validate_overrides(overrides: dict[str, Any], xmlspec: Path | None = None) -> dict[str, Any]:
    """Check that ``overrides`` is allowed, bounded and valid CP2K input.

    Parameters
    ----------
    overrides
        Nested dict in cp2k-input-tools' simplified form, e.g.
        ``{"force_eval": {"dft": {"scf": {"outer_scf": {"max_scf": 20}}}}}``.
    xmlspec
        CP2K input specification (``cp2k --xml``); cp2k-input-tools' bundled one by default.

    Returns
    -------
    dict
        The overrides with choice values in CP2K's upper-case spelling.

    Raises
    ------
    OverrideError
        Naming the dotted path of the first offending entry and why.
    """
    size = len(json.dumps(overrides, default=str))
    if size > MAX_JSON_BYTES:
        raise OverrideError("", f"{size} bytes of overrides; at most {MAX_JSON_BYTES}")
    if _entries(overrides) > MAX_LEAVES:
        raise OverrideError("", f"more than {MAX_LEAVES} override entries; at most {MAX_LEAVES}")
    checked = _checked(overrides, (), "")
    generator, parser = _tools(str(xmlspec) if xmlspec else None)
    reason = _parses(generator, parser, checked)
    if reason is not None:  # the allowlist and CP2K's spec disagree: say so, never run it
        raise OverrideError("", f"not valid CP2K input ({reason})")
    return checked


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
