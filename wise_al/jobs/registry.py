"""Every kind of unit of work, each declared in its own module: the runner iterates this."""

from __future__ import annotations

from wise_al.jobs.calibrate import CALIBRATE
from wise_al.jobs.e0s import E0S
from wise_al.jobs.evaluate import EVALUATE
from wise_al.jobs.explore import EXPLORE
from wise_al.jobs.label import LABEL
from wise_al.jobs.pack import PACK
from wise_al.jobs.seed import SEED
from wise_al.jobs.select import SELECT
from wise_al.jobs.train import TRAIN
from wise_al.jobs.unit import UnitKind
from wise_al.jobs.validate import VALIDATE
from wise_al.loop import Unit

UNITS: dict[Unit, UnitKind] = {
    kind.unit: kind
    for kind in (SEED, PACK, EXPLORE, SELECT, E0S, LABEL, CALIBRATE, TRAIN, EVALUATE, VALIDATE)
}
