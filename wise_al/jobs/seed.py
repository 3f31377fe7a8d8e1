"""Seed iteration 0 with an uploaded dataset: its frames become labels, provenance imported.

The frames are stored like explored ones (selected, with the reason they were chosen) and
their labels like CP2K's (level of theory, energy, forces, stress in ASE's sign), so
training, the dashboard and exports treat them alike; ``label.provenance`` and
``label.dataset_id`` say where they came from, and the label budget does not count them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.io import iread
from ase.stress import voigt_6_to_full_3x3_stress

from wise_al.db.engine import transaction
from wise_al.db.repositories import (
    DatasetRepository,
    FrameRepository,
    IterationRepository,
    LabelRepository,
)
from wise_al.errors import WiseAlError
from wise_al.jobs.unit import (
    Sessions,
    UnitKind,
    failure_in_metrics,
    outcome_in_metrics,
    spec_of,
)
from wise_al.loop import Unit
from wise_al.settings import CoreSettings
from wise_al.systems.labelled import SPLIT_GROUP_KEY

#: Where iteration 0's metrics record the import (the unit's outcome).
SEEDED_KEY = "seeded"
#: Imported frames without a split group of their own split in this many contiguous blocks
#: of the file (fewer for a smaller file: one frame each): neighbouring AIMD frames are
#: near-copies, and one in train with its neighbour in test would flatter the test error.
IMPORT_SPLIT_BLOCKS = 50


def _stress_3x3(value: object) -> list[list[float]] | None:
    if value is None:
        return None
    flat = np.asarray(value, dtype=float).ravel()
    full = voigt_6_to_full_3x3_stress(flat) if flat.size == 6 else flat.reshape(3, 3)
    return np.asarray(full).tolist()


def seed_iteration(
    sessions: Sessions, settings: CoreSettings, campaign_id: int, iteration_index: int
) -> None:
    """Import ``model.initial_dataset`` as iteration ``iteration_index``'s labels (once)."""
    del settings  # the dataset row says where its file is
    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
        iterations = IterationRepository(session)
        iteration = iterations.at(campaign_id, iteration_index, for_update=True)
        if SEEDED_KEY in iteration.metrics:
            return  # imported already: a repeated task changes nothing
        dataset = DatasetRepository(session).named_in(spec).get("model.initial_dataset")
        if dataset is None:
            raise WiseAlError("model.initial_dataset: the spec names no dataset to seed with")
        assert dataset.level_sha256 is not None and dataset.level_of_theory is not None
        count, block = 0, -(-int(dataset.summary.get("frames", 1)) // IMPORT_SPLIT_BLOCKS)
        for k, atoms in enumerate(iread(str(Path(dataset.file_path)), index=":")):
            group = atoms.info.get(SPLIT_GROUP_KEY)
            frame = FrameRepository(session).add_selected(
                campaign_id, iteration.id, atoms, k,
                f"imported: dataset {dataset.name!r} frame {k}",
                str(group) if group is not None else f"dataset-{dataset.id}/block-{k // block}",
            )  # fmt: skip
            LabelRepository(session).add_imported(
                frame.id, dataset,
                energy_eV=float(atoms.info["REF_energy"]),
                forces_eV_per_A=np.asarray(atoms.arrays["REF_forces"], float).tolist(),
                stress_eV_per_A3=_stress_3x3(atoms.info.get("REF_stress")),
            )  # fmt: skip
            count += 1
        iterations.record(
            campaign_id,
            iteration_index,
            **{SEEDED_KEY: {"dataset": dataset.name, "sha256": dataset.sha256, "frames": count}},
        )


#: Iteration 0's labels imported from an uploaded dataset (database and artifact-store work).
SEED = UnitKind(
    Unit.SEED,
    lambda sessions, settings, campaign_id, c: seed_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    outcome_in_metrics(SEEDED_KEY),
    failure_in_metrics(Unit.SEED),
)
