"""Levels of theory of labels: hashing a level's record, naming it, refusing to mix levels.

A level record is what made a label's numbers (code, version, method, basis, files, ...);
:mod:`wise_al.cp2k.level` builds it for CP2K. Everything that holds labels (datasets,
repositories, imports) checks here that one training set holds one level.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from wise_al.errors import WiseAlError


def sha256_of(record: dict[str, Any]) -> str:
    """Stable hash of a JSON-able record (sorted keys, no whitespace)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class MixedLevelsError(WiseAlError):
    """Labels of different levels of theory would end up in one training set."""


def describe_level(record: dict[str, Any]) -> str:
    """A level in a few words: ``CP2K 2023.1 GFN1-xTB`` or ``CP2K 2023.1 PBE-D3 400 Ry``."""
    words = [str(record.get("code", "CP2K")), str(record.get("code_version", "?"))]
    if record.get("method") == "GPW-DFT":
        dispersion = record.get("dispersion", "none")
        words.append(
            str(record.get("functional")) + ("" if dispersion == "none" else f"-{dispersion}")
        )
        words.append(f"{record.get('cutoff_Ry'):g} Ry")
    else:
        words.append(str(record.get("method")))
    return " ".join(words)


def level_difference(records: dict[str, dict[str, Any]]) -> str:
    """Two or more levels named (hash prefix and words) with the fields they differ in."""
    names = " and ".join(f"{h[:12]} ({describe_level(r)})" for h, r in sorted(records.items()))
    keys = sorted({k for r in records.values() for k in r})
    differ = [
        k for k in keys if len({json.dumps(r.get(k), sort_keys=True) for r in records.values()}) > 1
    ]
    return f"{names}, which differ in {', '.join(differ) or 'nothing recorded'}"


def single_level(
    level_hashes: Iterable[str],
    chosen: str | None = None,
    records: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The one level of theory of a set of labels, or the explicitly chosen one.

    ``records`` (hash -> level record) lets the error say what the levels are.

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
        known = {h: records[h] for h in found if records and h in records}
        named = (
            level_difference(known)
            if len(known) == len(found)
            else ", ".join(h[:12] for h in found)
        )
        raise MixedLevelsError(
            f"labels of {len(found)} levels of theory ({named}): one training set takes one; "
            "choose one"
        )
    if not found:
        raise MixedLevelsError("no labels")
    return found[0]
