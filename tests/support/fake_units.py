"""Units of work that write their domain rows as the real ones do, without MACE or CP2K.

The fan-in (lease, settle, record failure, advance) is the riskiest code of the service and
does not depend on what a unit computes, only on which rows it writes. These fakes write
the same rows in milliseconds (selection and evaluation are the real ones: they are cheap),
and :func:`with_fault` makes any of them fail on purpose, so every failure at every phase
runs in seconds on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from ase import Atoms

from wise_al.db.base import utcnow
from wise_al.db.engine import transaction
from wise_al.db.models import Frame, FrameStatus, Label, RunStatus
from wise_al.db.repositories import (
    FrameRepository,
    IterationRepository,
    ModelVersionRepository,
    ReferenceEnergiesRepository,
    ValidationRepository,
    WalkerRunRepository,
)
from wise_al.jobs.outcomes import CALIBRATION_KEY
from wise_al.jobs.registry import UNITS
from wise_al.jobs.seed import SEEDED_KEY
from wise_al.jobs.unit import Sessions, UnitKind, index_of
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings
from wise_al.systems.structures import structure_to_dict

FAKE_LEVEL = "f" * 64
FRAMES_PER_WALKER = 3
WATER = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], cell=[8] * 3, pbc=True)


def _explore(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
    rng = np.random.default_rng([campaign_id, c.iteration, index_of(c)])
    with transaction(sessions) as session:
        iteration = IterationRepository(session).at(campaign_id, c.iteration)
        run = WalkerRunRepository(session).start(
            iteration.id, index_of(c), {"temperature_K": 300.0}, seed=index_of(c)
        )
        FrameRepository(session).delete_of_walker(run.id)
        for step in range(1, FRAMES_PER_WALKER + 1):
            session.add(
                Frame(
                    campaign_id=campaign_id,
                    iteration_id=iteration.id,
                    walker_run_id=run.id,
                    md_step=5 * step,
                    status=FrameStatus.CANDIDATE,
                    n_atoms=len(WATER),
                    structure=structure_to_dict(WATER),
                    descriptor=rng.normal(size=8).tolist(),
                )
            )
        run.frame_counts = {"saved": FRAMES_PER_WALKER, "candidate": FRAMES_PER_WALKER}
        run.steps_done, run.status = 5 * FRAMES_PER_WALKER, RunStatus.DONE


def _pack(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
    with transaction(sessions) as session:
        iteration = IterationRepository(session).at(campaign_id, c.iteration, for_update=True)
        if SEEDED_KEY in iteration.metrics:
            return
        for cell in range(2):
            session.add(
                Frame(
                    campaign_id=campaign_id,
                    iteration_id=iteration.id,
                    md_step=cell,
                    status=FrameStatus.SELECTED,
                    n_atoms=len(WATER),
                    structure=structure_to_dict(WATER),
                    split_group=f"initial-cell-{cell}",
                )
            )
        IterationRepository(session).record(
            campaign_id, c.iteration, **{SEEDED_KEY: {"packed_cells": 2, "frames": 2}}
        )


def fake_label_row(frame_id: int) -> Label:
    """A successful label at the fake level of theory."""
    return Label(
        frame_id=frame_id,
        level_of_theory={"code": "fake"},
        level_sha256=FAKE_LEVEL,
        status=RunStatus.DONE,
        energy_eV=-14.2,
        forces_eV_per_A=[[0.0, 0.0, 0.0]] * len(WATER),
        finished_at=utcnow(),
    )


def _label(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
    with transaction(sessions) as session:
        session.add(fake_label_row(index_of(c)))


def _e0s(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
    with transaction(sessions) as session:
        ReferenceEnergiesRepository(session).record(campaign_id, {1: -13.6, 8: -432.1})


def _calibrate(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
    record = {"status": "done", "under_dispersed": False, "dispersion_ratio": 1.0}
    with transaction(sessions) as session:
        IterationRepository(session).record(campaign_id, c.iteration, **{CALIBRATION_KEY: record})


def _train(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
    errors = {"forces_rmse_meV_per_A": 50.0 + index_of(c), "energy_rmse_meV_per_atom": 2.0}
    record = {
        "errors": {"valid": errors, "test": errors},
        "seed": index_of(c),
        "log": "",
        "file": None,
        "sha256": None,
    }
    with transaction(sessions) as session:
        ModelVersionRepository(session).record_member(
            campaign_id,
            c.iteration,
            index_of(c),
            strategy="fine_tune_naive",
            record=record,
            dataset_sha256="d" * 64,
            parent=None,
        )


def _validate(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
    report = {"frames": 2, "density_g_per_cm3": 1.70, "sq_r_factor": 0.1}
    scores = [{"metric": "sq_r_factor", "value": 0.1, "good": 0.02, "bad": 0.21, "grade": "fair"}]
    with transaction(sessions) as session:
        validations = ValidationRepository(session)
        validations.start(campaign_id, c.iteration, {"steps": 2})
        validations.record(campaign_id, c.iteration, observables=report, scores=scores, frames=2)


_FAKE_RUNS = {
    Unit.PACK: _pack,
    Unit.EXPLORE: _explore,
    Unit.E0S: _e0s,
    Unit.LABEL: _label,
    Unit.CALIBRATE: _calibrate,
    Unit.TRAIN: _train,
    Unit.VALIDATE: _validate,
}

#: The registry with the expensive units replaced: same domain rows, same failure records.
FAKE_UNITS: dict[Unit, UnitKind] = {
    unit: dataclasses.replace(kind, run=_FAKE_RUNS[unit]) if unit in _FAKE_RUNS else kind
    for unit, kind in UNITS.items()
}

Fault = Callable[[Command], None]


def with_fault(units: dict[Unit, UnitKind], unit: Unit, fault: Fault) -> dict[Unit, UnitKind]:
    """``units`` where ``unit`` calls ``fault(command)`` before doing its work."""
    kind = units[unit]

    def run(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
        fault(c)
        kind.run(sessions, settings, campaign_id, c)

    return {**units, unit: dataclasses.replace(kind, run=run)}
