"""Validate an iteration's committee: production MD from the campaign's packed cell, relaxed
and equilibrated by that committee; its observables against experiment, stored on the
iteration's validation row; its frames, judged by the committee, are candidates for the
next iteration (every MD the potential runs explores)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io import read
from sqlalchemy.orm import Session

from wise_al.atomic_files import write_structure_atomic, write_text_atomic
from wise_al.campaign_spec import CampaignSpec
from wise_al.db.engine import transaction
from wise_al.db.models import FrameSource, RunStatus
from wise_al.db.repositories import (
    FrameRepository,
    IterationRepository,
    ModelVersionRepository,
    ValidationRepository,
)
from wise_al.errors import WiseAlError
from wise_al.exploration.onset import KeptFrame, kept_frames
from wise_al.flags.checker import FlagChecker, broken_run
from wise_al.jobs.artifacts import iteration_dir, shared_cell_file
from wise_al.jobs.calibrate import sigma_scale
from wise_al.jobs.explore import (
    COLLAPSED_EV_PER_A,
    frame_descriptors,
    keeps_every_frame,
)
from wise_al.jobs.starts import packed_start, why_broken
from wise_al.jobs.unit import Sessions, UnitKind, spec_of
from wise_al.loop import Command, Unit
from wise_al.md.parameters import ProductionParameters
from wise_al.settings import WorkerSettings

#: Where an iteration's validation equilibrates its start (beside ``validation/``).
EQUILIBRATION = "validation-equilibration"


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


def validation_start(
    settings: WorkerSettings,
    spec: CampaignSpec,
    campaign_id: int,
    iteration_index: int,
    model_files: list[Path],
    device: str,
) -> tuple[Atoms, dict[str, Any]]:
    """This iteration's start: the campaign's packed cell (its seed), relaxed and
    equilibrated by the committee being validated, never a broken cell.

    When equilibration breaks the cell (the committee fuses Li⁺, say), production starts
    from the relaxed packed cell and the record says why. The intact equilibrated cell
    becomes the campaign's shared one (walkers with ``exploration.start: equilibrated``).
    The start is written atomically beside the run, so a resumed validation reads it back.
    """
    from wise_al.mace.committee import Committee
    from wise_al.md.production import last_state
    from wise_al.md.run import run_with_models

    folder = iteration_dir(settings, campaign_id, iteration_index)
    path, record_path = folder / "validation-start.extxyz", folder / "validation-start.json"
    if path.exists() and record_path.exists():
        atoms = read(path)
        assert isinstance(atoms, Atoms)
        return atoms, json.loads(record_path.read_text())
    v = spec.validation
    committee = Committee(model_files, device=device, min_members=1)
    made = packed_start(spec, spec.selection.seed, committee, v.temperature_K)
    start, origin, refused = made.atoms, made.origin, list(made.refused)
    if v.equilibration_steps:
        run_dir = folder / EQUILIBRATION
        parameters = run_parameters(spec, v.equilibration_steps)
        run_with_models(start, model_files, parameters, run_dir, device=device)
        equilibrated = last_state(run_dir)
        why = why_broken(equilibrated, spec, v.temperature_K, reference=start)
        if why is None:
            start = equilibrated
            origin += f", equilibrated {v.equilibration_steps} steps"
            write_structure_atomic(shared_cell_file(settings, campaign_id), equilibrated)
        else:
            refused.append(f"the equilibrated cell: {why}")
    record: dict[str, Any] = {"origin": origin, "refused": refused}
    written = write_structure_atomic(path, start)
    write_text_atomic(record_path, json.dumps(record))
    return written, record


def validation_candidates(
    spec: CampaignSpec,
    start: Atoms,
    model_files: list[Path],
    device: str,
    trajectories: list[tuple[list[Atoms], int]],
    scale: float,
) -> tuple[list[KeptFrame], list[np.ndarray], bool]:
    """The candidates of the validation MD (each trajectory with its step offset), judged
    by the whole committee as walkers' frames are (deviation times ``scale`` against the
    window): kept frames, descriptors, judged."""
    from wise_al.exploration.judge import judge_trajectory
    from wise_al.mace.committee import Committee

    committee = Committee(model_files, device=device, min_members=1)
    window = spec.uncertainty
    checker = FlagChecker(spec.flags, start, spec.validation.temperature_K)
    judged = [
        judge_trajectory(
            frames,
            committee,
            checker,
            window.trust_lo_eV_per_A / scale,
            window.trust_hi_eV_per_A / scale,
            offset,
        )
        for frames, offset in trajectories
    ]
    every = [frame for run in judged for frame in run]
    spread = max((f.deviation.max_eV_per_A for f in every), default=0.0)
    agrees = len(committee) > 1 and spread > COLLAPSED_EV_PER_A
    keep_all = keeps_every_frame(spec, agrees)
    onset, audit = spec.selection.onset_frames, spec.selection.audit_frames
    kept = [
        k
        for run in judged
        for k in kept_frames(
            run, keep_all=keep_all, onset_frames=onset, audit=audit, seed=spec.selection.seed
        )
    ]
    return kept, frame_descriptors(committee, [k.frame.atoms for k in kept]), agrees


def validate_iteration(
    sessions: Sessions, settings: WorkerSettings, campaign_id: int, iteration_index: int
) -> None:
    """Run the iteration's validation MD (resuming a lost attempt) and store its judgement;
    a run that broke (a Li⁺ pair in contact, a broken molecule, ...) is not graded. Its
    frames, judged by the committee, are candidates of the next iteration's selection."""
    from wise_al.mace.fit import file_sha256
    from wise_al.md.production import TRAJECTORY
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
        # the next iteration judges these frames: its scale counts this one's calibration
        scale = sigma_scale(session, campaign_id, iteration_index + 1)
    if not model_files:
        raise WiseAlError(f"iteration {iteration_index} has no trained member to validate")
    v = spec.validation
    device = v.device if v.device != "auto" else settings.device
    start, start_record = validation_start(
        settings, spec, campaign_id, iteration_index, model_files, device
    )
    folder = iteration_dir(settings, campaign_id, iteration_index)
    run_dir = folder / "validation"
    result = run_with_models(
        start, model_files, run_parameters(spec, v.steps), run_dir, device=device
    )
    frames = read(result.trajectory, ":")
    assert isinstance(frames, list)
    interval_fs = v.save_interval_steps * v.timestep_fs
    report = observe(
        frames, frame_interval_fs=interval_fs, sq_window=v.sq_window, ensemble=v.ensemble
    )
    report |= broken_run(frames, FlagChecker(spec.flags, start, v.temperature_K))
    # production steps as in its trajectory (and broke_at_step); equilibration before 0
    runs = [(frames, 0)]
    equilibration = folder / EQUILIBRATION / TRAJECTORY
    if equilibration.exists():
        equilibration_frames = read(equilibration, ":")
        assert isinstance(equilibration_frames, list)
        runs.insert(0, (equilibration_frames, -v.equilibration_steps))
    kept, descriptors, judged = validation_candidates(spec, start, model_files, device, runs, scale)
    driven_by = json.loads((run_dir / "run.json").read_text())["driven_by"]
    with transaction(sessions) as session:
        validation = ValidationRepository(session).record(
            campaign_id,
            iteration_index,
            parameters={**v.model_dump(), "driven_by": driven_by, "start": start_record},
            observables=report,
            scores=score_report(report, v.thresholds),
            steps_done=result.steps_done,
            frames=result.frames,
            trajectory_path=str(result.trajectory),
            trajectory_sha256=file_sha256(result.trajectory),
        )
        iteration = IterationRepository(session).at(campaign_id, iteration_index)
        stored = FrameRepository(session)
        stored.delete_of_validation(validation.id)  # a repeated task
        for k, descriptor in zip(kept, descriptors, strict=True):
            stored.add_kept(
                k, descriptor, judged, campaign_id, iteration.id,
                source=FrameSource.VALIDATION, validation_id=validation.id,
                split_group=f"validation-{validation.id}",
            )  # fmt: skip


def _validated(session: Session, campaign_id: int, command: Command) -> bool:
    row = ValidationRepository(session).find(campaign_id, command.iteration)
    return row is not None and row.status in (RunStatus.DONE, RunStatus.FAILED)


def _failed(session: Session, campaign_id: int, command: Command, error: str) -> None:
    ValidationRepository(session).record_failure(campaign_id, command.iteration, error)


#: One iteration's committee in production MD, judged against experiment (on a GPU).
VALIDATE = UnitKind(
    Unit.VALIDATE,
    lambda sessions, settings, campaign_id, c: validate_iteration(
        sessions, settings, campaign_id, c.iteration
    ),
    _validated,
    _failed,
)
