"""Validate an iteration's committee: production MD from the campaign's shared equilibrated
cell, its observables against experiment, stored on the iteration's validation row."""

from __future__ import annotations

import json
from pathlib import Path

from ase import Atoms
from ase.io import read
from sqlalchemy.orm import Session

from wise_al.atomic_files import write_structure_atomic
from wise_al.db.engine import transaction
from wise_al.db.models import RunStatus
from wise_al.db.repositories import ModelVersionRepository, ValidationRepository
from wise_al.errors import WiseAlError
from wise_al.jobs.artifacts import iteration_dir, shared_cell_file
from wise_al.jobs.unit import Resource, Sessions, UnitKind, spec_of
from wise_al.loop import Command, Unit
from wise_al.md.parameters import ProductionParameters
from wise_al.settings import WorkerSettings
from wise_al.spec import CampaignSpec


def run_parameters(spec: CampaignSpec, steps: int) -> ProductionParameters:
    """The production parameters of a validation run of ``steps`` (the equilibration or the
    production): the spec's intervals, cut to fit a short run and kept whole multiples."""
    v = spec.validation
    save = min(v.save_interval_steps, steps)
    return ProductionParameters(
        ensemble=v.ensemble,
        temperature_K=v.temperature_K,
        pressure_bar=v.pressure_bar,
        timestep_fs=v.timestep_fs,
        steps=steps,
        save_interval_steps=save,
        checkpoint_interval_steps=save * max(1, min(v.checkpoint_interval_steps, steps) // save),
        driver="member",
        dispersion=v.dispersion,
        dispersion_functional=v.dispersion_functional,
        seed=spec.selection.seed,
    )


def shared_start(path: Path, spec: CampaignSpec, model_files: list[Path], device: str) -> Atoms:
    """The campaign's equilibrated cell: built by the first validation, reused by the rest.

    The system's cell is packed (seed of the spec), relaxed on the committee, then run for
    ``equilibration_steps`` (resumable); the last state, velocities included, is written
    atomically so a later iteration never reads half a file.
    """
    if path.exists():
        atoms = read(path)
        assert isinstance(atoms, Atoms)
        return atoms
    from wise_al.mace.committee import Committee
    from wise_al.md.production import last_state
    from wise_al.md.relax import relax_start
    from wise_al.md.run import run_with_models
    from wise_al.systems.cells import pack_cell

    system = spec.system
    side = system.cell_A[0] if system.cell_A else None
    packed = pack_cell(
        system.molecules(),
        density_g_per_cm3=system.density_g_per_cm3,
        side_A=side,
        seed=spec.selection.seed,
    )
    committee = Committee(model_files, device=device, min_members=1)
    start, _ = relax_start(packed, committee)
    steps = spec.validation.equilibration_steps
    if steps:
        equilibration = path.parent / "equilibration"
        run_with_models(
            start, model_files, run_parameters(spec, steps), equilibration, device=device
        )
        start = last_state(equilibration)
    return write_structure_atomic(path, start)  # as written, as every later reader sees it


def validate_iteration(
    sessions: Sessions, settings: WorkerSettings, campaign_id: int, iteration_index: int
) -> None:
    """Run the iteration's validation MD (resuming a lost attempt) and store its judgement;
    a run that broke (a Li⁺ pair in contact, a broken molecule, ...) is not graded."""
    from wise_al.flags.checker import FlagChecker, broken_run
    from wise_al.mace.fit import file_sha256
    from wise_al.md.run import run_with_models
    from wise_al.observables.report import observe
    from wise_al.observables.scores import score_report

    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
        members = ModelVersionRepository(session).committee(campaign_id, iteration_index)
        model_files = [Path(str(m.file_path)) for m in members if m.status == RunStatus.DONE]
        ValidationRepository(session).start(
            campaign_id, iteration_index, spec.validation.model_dump()
        )
    if not model_files:
        raise WiseAlError(f"iteration {iteration_index} has no trained member to validate")
    v = spec.validation
    device = v.device if v.device != "auto" else settings.device
    start = shared_start(shared_cell_file(settings, campaign_id), spec, model_files, device)
    run_dir = iteration_dir(settings, campaign_id, iteration_index) / "validation"
    result = run_with_models(
        start, model_files, run_parameters(spec, v.steps), run_dir, device=device
    )
    frames = read(result.trajectory, ":")
    assert isinstance(frames, list)
    interval_fs = v.save_interval_steps * v.timestep_fs
    report = observe(
        frames, frame_interval_fs=interval_fs, sq_window=v.sq_window, ensemble=v.ensemble
    )
    report |= broken_run(frames, FlagChecker(spec.flags, frames[0], v.temperature_K))
    driven_by = json.loads((run_dir / "run.json").read_text())["driven_by"]
    with transaction(sessions) as session:
        ValidationRepository(session).record(
            campaign_id,
            iteration_index,
            parameters={**v.model_dump(), "driven_by": driven_by},
            observables=report,
            scores=score_report(report, v.thresholds),
            steps_done=result.steps_done,
            frames=result.frames,
            trajectory_path=str(result.trajectory),
            trajectory_sha256=file_sha256(result.trajectory),
        )


def _validated(session: Session, campaign_id: int, command: Command) -> bool:
    row = ValidationRepository(session).find(campaign_id, command.iteration)
    return row is not None and row.status in (RunStatus.DONE, RunStatus.FAILED)


def _failed(session: Session, campaign_id: int, command: Command, error: str) -> None:
    ValidationRepository(session).record_failure(campaign_id, command.iteration, error)


#: One iteration's committee in production MD, judged against experiment (on a GPU).
VALIDATE = UnitKind(
    Unit.VALIDATE,
    Resource.GPU,
    lambda sessions, settings, campaign_id, c: validate_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    _validated,
    _failed,
)
