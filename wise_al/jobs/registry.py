"""Every kind of unit of work, declared lightly: its name, the resource it needs and where its
implementation lives, loaded when a unit is first run (as ASE's table of I/O formats).

The API and the worker's routing read the declarations without importing MD, CP2K or MACE
code; the runner reads :data:`UNITS`, which imports an implementation on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

from wise_al.jobs.unit import Resource, UnitKind
from wise_al.loop import Unit


@dataclass(frozen=True)
class Declaration:
    """One kind of unit: what it needs, and ``module:NAME`` of its :class:`UnitKind`."""

    resource: Resource
    implementation: str

    def load(self) -> UnitKind:
        """The unit's implementation (imported now)."""
        module, name = self.implementation.split(":")
        kind = getattr(importlib.import_module(module), name)
        assert isinstance(kind, UnitKind), self.implementation
        return kind


DECLARED: dict[Unit, Declaration] = {
    Unit.SEED: Declaration(Resource.CPU, "wise_al.jobs.seed:SEED"),
    Unit.PACK: Declaration(Resource.DFT, "wise_al.jobs.pack:PACK"),
    Unit.EXPLORE: Declaration(Resource.GPU, "wise_al.jobs.explore:EXPLORE"),
    Unit.SELECT: Declaration(Resource.CPU, "wise_al.jobs.select:SELECT"),
    Unit.E0S: Declaration(Resource.DFT, "wise_al.jobs.e0s:E0S"),
    Unit.LABEL: Declaration(Resource.DFT, "wise_al.jobs.label:LABEL"),
    Unit.CALIBRATE: Declaration(Resource.GPU, "wise_al.jobs.calibrate:CALIBRATE"),
    Unit.TRAIN: Declaration(Resource.GPU, "wise_al.jobs.train:TRAIN"),
    Unit.EVALUATE: Declaration(Resource.CPU, "wise_al.jobs.evaluate:EVALUATE"),
    Unit.VALIDATE: Declaration(Resource.GPU, "wise_al.jobs.validate:VALIDATE"),
}


@cache
def _load(unit: Unit) -> UnitKind:
    return DECLARED[unit].load()


class _Implementations(Mapping[Unit, UnitKind]):
    """Each declared unit's implementation, imported when first asked for."""

    def __getitem__(self, unit: Unit) -> UnitKind:
        return _load(unit)

    def __iter__(self) -> Iterator[Unit]:
        return iter(DECLARED)

    def __len__(self) -> int:
        return len(DECLARED)


#: What the runner runs: unit -> its implementation, loaded on first use.
UNITS: Mapping[Unit, UnitKind] = _Implementations()
