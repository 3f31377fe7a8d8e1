"""Validation of user CP2K input overrides, before anything runs.

Overrides are a nested dict in cp2k-input-tools' simplified form, merged into the generated
input. Each leaf is checked on its own against CP2K's input specification so the error names
the exact path, and anything that could reach outside a label's work directory is refused.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Sections that load code or data from outside the label's own inputs.
FORBIDDEN_SECTIONS = frozenset({"EXTERNAL_POTENTIAL", "EXT_RESTART", "EXTERNAL", "PLUMED"})

#: Keyword names that hold file names; a value with a path component is refused.
_FILE_KEYWORD = re.compile(r"(FILE|PATH|DIR|PROJECT|WFN|RESTART|LIBRARY|PLUMED)", re.IGNORECASE)

#: Preprocessor directives and variables (``@INCLUDE``, ``@SET``, ``${X}``) anywhere.
_PREPROCESSOR = re.compile(r"(^\s*@|\$)")


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


def _leaves(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield (path, single-leaf subtree) pairs, so each leaf is validated alone."""
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            for sub_path, subtree in _leaves(value, (*path, str(key))):
                yield sub_path, {key: subtree}
    elif isinstance(tree, list) and tree and all(isinstance(v, dict) for v in tree):
        for index, value in enumerate(tree):
            for sub_path, subtree in _leaves(value, (*path, f"[{index}]")):
                yield sub_path, [subtree]
    else:
        yield path, tree


def _check_safe(path: tuple[str, ...], value: Any) -> None:
    where = ".".join(path)
    for part in path:
        if _PREPROCESSOR.search(part):
            raise OverrideError(
                where, "CP2K preprocessor directives (@INCLUDE, @SET, $) are refused"
            )
        if part.lstrip("+&").upper() in FORBIDDEN_SECTIONS:
            raise OverrideError(
                where, f"section {part} is refused: it loads external files or code"
            )
    values = value if isinstance(value, list) else [value]
    for item in values:
        text = str(item)
        if _PREPROCESSOR.search(text):
            raise OverrideError(
                where, "CP2K preprocessor directives (@INCLUDE, @SET, $) are refused"
            )
        keyword = path[-1] if path else ""
        if _FILE_KEYWORD.search(keyword) and ("/" in text or "\\" in text or ".." in text):
            raise OverrideError(where, f"file name {text!r} must stay in the label's directory")


def validate_overrides(overrides: dict[str, Any], xmlspec: Path | None = None) -> None:
    """Check that ``overrides`` is safe and valid CP2K input.

    Parameters
    ----------
    overrides
        Nested dict in cp2k-input-tools' simplified form, e.g.
        ``{"force_eval": {"dft": {"scf": {"max_scf": 100}}}}``.
    xmlspec
        CP2K input specification (``cp2k --xml``); cp2k-input-tools' bundled one by default.

    Raises
    ------
    OverrideError
        Naming the dotted path of the first offending entry and why.
    """
    for path, leaf_tree in _leaves(overrides):
        _check_safe(path, _leaf_value(leaf_tree))
    generator, parser = _tools(str(xmlspec) if xmlspec else None)
    for path, leaf_tree in _leaves(overrides):
        try:
            text = "\n".join(generator.line_iter(leaf_tree))
            with _LOCK:
                parser.parse(io.StringIO(text))
        except Exception as exc:  # cp2k-input-tools raises many unrelated types
            reason = str(exc) or type(exc).__name__
            raise OverrideError(".".join(path), f"not valid CP2K input ({reason})") from None


def _leaf_value(tree: Any) -> Any:
    while isinstance(tree, dict | list) and len(tree) == 1:
        tree = next(iter(tree.values())) if isinstance(tree, dict) else tree[0]
    return tree
