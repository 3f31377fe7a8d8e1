"""The experimental and reference numbers a potential is judged against (shipped data)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

_DATA = resources.files("wise_al.observables").joinpath("data")


@cache
def references_21m() -> dict[str, Any]:
    """Density, Li–O coordination and S(q) references of 21 m LiTFSI(aq), with sources."""
    data: dict[str, Any] = json.loads(_DATA.joinpath("wise_21m_references.json").read_text())
    return data


def experimental_sq() -> tuple[np.ndarray, np.ndarray]:
    """The X-ray S(q) of 21 m LiTFSI(aq) (Zhang et al. 2021): q in Å⁻¹ and S, Faber–Ziman.

    The digitised curve has points out of order around the first peak (0.7–1.4 Å⁻¹, where
    the digitiser went back and forth); they are returned sorted by q, none dropped.
    """
    name = references_21m()["xray_sq"]["file"]
    table = np.loadtxt(_DATA.joinpath(name).open(), comments="#")
    order = np.argsort(table[:, 0], kind="stable")
    return table[order, 0], table[order, 1]
