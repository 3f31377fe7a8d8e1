"""Seed iteration 0 with packed cells relaxed by CP2K: a campaign with no data and no model.

A from-scratch campaign needs labels before it has a model to explore with. With neither an
uploaded dataset nor a foundation, its first frames come from packmol (each cell its own
seed) and CP2K's relaxation of them at the campaign's level; frames evenly spaced along
each relaxation are stored as selected frames, so the usual label units label them (and
count them against the budget, as real DFT labels). Each cell is its own split group: the
frames of one relaxation are near-copies, and one in train with its twin in test would
flatter the test error.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from wise_al.campaign_spec.system import SystemSpec
from wise_al.db.engine import transaction
from wise_al.db.repositories import FrameRepository, IterationRepository
from wise_al.errors import WiseAlError
from wise_al.jobs.artifacts import iteration_dir
from wise_al.jobs.seed import SEEDED_KEY
from wise_al.jobs.unit import (
    Sessions,
    UnitKind,
    failure_in_metrics,
    outcome_in_metrics,
    spec_of,
)
from wise_al.loop import Unit
from wise_al.settings import WorkerSettings

#: Packmol seeds of a campaign's cells: far apart, so no two campaigns' cell k coincide by
#: a neighbouring seed.
CELL_SEED_STRIDE = 1_000_003


def packed_system(system: SystemSpec, seed: int) -> Atoms:
    """The system's cell packed by packmol with ``seed`` (cubic: the side, else the density).

    Raises
    ------
    WiseAlError
        If the spec's cell is not cubic.
    """
    from wise_al.systems.cells import pack_cell

    if system.cell_A and len(set(system.cell_A)) > 1:
        raise WiseAlError("system.cell_A: the cell builder packs cubic cells only")
    side = system.cell_A[0] if system.cell_A else None
    return pack_cell(
        system.molecules(), density_g_per_cm3=system.density_g_per_cm3, side_A=side, seed=seed
    )


def evenly_spaced(path: list[Atoms], count: int) -> list[tuple[int, Atoms]]:
    """``count`` (step, geometry) pairs of ``path``, its first and last among them."""
    steps = np.unique(np.linspace(0, len(path) - 1, min(count, len(path))).round().astype(int))
    return [(int(k), path[k]) for k in steps]


def pack_iteration(
    sessions: Sessions, settings: WorkerSettings, campaign_id: int, iteration_index: int
) -> None:
    """Pack and relax ``model.initial_cells`` and store their frames to label (once)."""
    from wise_al.cp2k.label import make_labeller
    from wise_al.cp2k.md import relaxation_path

    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
        if SEEDED_KEY in IterationRepository(session).at(campaign_id, iteration_index).metrics:
            return
    cells = spec.model.initial_cells
    if cells is None:
        raise WiseAlError("model.initial_cells: the spec asks for no packed cells")
    labeller = make_labeller(settings, spec.labelling)
    work = iteration_dir(settings, campaign_id, iteration_index) / "initial-cells"
    chosen: list[tuple[int, int, Atoms]] = []
    for cell in range(cells.cells):
        packed = packed_system(spec.system, cells.seed + CELL_SEED_STRIDE * cell)
        path = [packed]
        if cells.relax_steps:
            path = relaxation_path(
                spec.labelling,
                packed,
                cells.relax_steps,
                labeller.cp2k,
                labeller.profile,
                work / f"cell-{cell}",
            )
        chosen += [
            (cell, step, atoms) for step, atoms in evenly_spaced(path, cells.frames_per_cell)
        ]
    with transaction(sessions) as session:
        iterations = IterationRepository(session)
        iteration = iterations.at(campaign_id, iteration_index, for_update=True)
        if SEEDED_KEY in iteration.metrics:
            return  # a twin task stored them first: its frames stand
        frames = FrameRepository(session)
        for k, (cell, step, atoms) in enumerate(chosen):
            reason = f"initial cell {cell}, relaxation step {step}"
            frames.add_selected(campaign_id, iteration.id, atoms, k, reason, f"initial-cell-{cell}")
        iterations.record(
            campaign_id,
            iteration_index,
            **{SEEDED_KEY: {"packed_cells": cells.cells, "frames": len(chosen)}},
        )


#: Iteration 0's frames from packed cells relaxed by CP2K (a DFT worker's unit).
PACK = UnitKind(
    Unit.PACK,
    lambda sessions, settings, campaign_id, c: pack_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    outcome_in_metrics(SEEDED_KEY),
    failure_in_metrics(Unit.PACK),
)
