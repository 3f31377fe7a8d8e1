"""Explore one walker: committee MD from a freshly packed cell; keep the frames that matter."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms
from ase.io import read
from sqlalchemy.orm import Session

from wise_al.campaign_spec import CampaignSpec
from wise_al.db.engine import transaction
from wise_al.db.models import RunStatus
from wise_al.db.repositories import (
    DatasetRepository,
    FrameRepository,
    IterationRepository,
    ModelVersionRepository,
    WalkerRunRepository,
)
from wise_al.errors import WiseAlError
from wise_al.exploration.onset import kept_frames
from wise_al.jobs.artifacts import iteration_dir, shared_cell_file
from wise_al.jobs.calibrate import sigma_scale
from wise_al.jobs.starts import Start, bare, continued_start, packed_start, why_broken
from wise_al.jobs.unit import (
    POLL_S,
    Sessions,
    UnitKind,
    cancelled_check,
    index_of,
    spec_of,
)
from wise_al.loop import Command, Unit
from wise_al.processes import Stopped, throttled
from wise_al.selection.registry import STRATEGIES
from wise_al.settings import WorkerSettings
from wise_al.uncertainty import deviation_histogram

if TYPE_CHECKING:
    from wise_al.mace.committee import Committee

#: Frames per committee pass when computing descriptors.
DESCRIPTOR_BATCH = 16
#: A committee whose largest force deviation stays below this (eV/Å) has collapsed.
COLLAPSED_EV_PER_A = 1e-6


def walker_conditions(spec: CampaignSpec) -> list[dict[str, float]]:
    """Temperature and pressure of every walker, replicas expanded, in spec order."""
    system = spec.system
    return [
        {
            "temperature_K": w.temperature_K or system.temperature_K,
            "pressure_bar": w.pressure_bar if w.pressure_bar is not None else system.pressure_bar,
        }
        for w in system.walkers
        for _ in range(w.replicas)
    ]


def _seed(spec: CampaignSpec, iteration_index: int, walker_index: int) -> int:
    return spec.selection.seed + 1000 * iteration_index + walker_index


def _start_walker(session: Session, campaign_id: int, iteration_index: int, index: int) -> int:
    spec = spec_of(session, campaign_id)
    iteration = IterationRepository(session).at(campaign_id, iteration_index)
    run = WalkerRunRepository(session).start(
        iteration.id, index, walker_conditions(spec)[index], _seed(spec, iteration_index, index)
    )
    # a previous attempt died mid-run: its frames were never selected, start clean
    FrameRepository(session).delete_of_walker(run.id)
    return run.id


def walker_start(
    settings: WorkerSettings,
    spec: CampaignSpec,
    campaign_id: int,
    iteration_index: int,
    walker_index: int,
    starts_file: Path | None,
    seed: int,
    committee: Committee,
) -> Start:
    """Where walker ``walker_index`` starts (``exploration.start``), always an intact cell:
    an uploaded structure, the previous iteration's last intact frame (its own walker's,
    else its validation's), the shared equilibrated cell, or a packed one."""
    from wise_al.md.production import TRAJECTORY

    temperature_K = walker_conditions(spec)[walker_index]["temperature_K"]
    how = spec.exploration.start
    refused: list[str] = []
    if starts_file is not None:
        frames = read(starts_file, index=":")
        assert isinstance(frames, list)
        # the bare structure: the upload's other keys (labels, velocities) stay behind
        given = bare(frames[walker_index % len(frames)])
        why = why_broken(given, spec, temperature_K)
        if why is None:
            return Start(given, "uploaded start structure")
        refused.append(f"uploaded start structure {walker_index % len(frames)}: {why}")
    if how == "continue" and iteration_index > 0:
        before = iteration_dir(settings, campaign_id, iteration_index - 1)
        previous, own = iteration_index - 1, f"walker-{walker_index}.extxyz"
        paths = [
            (f"iteration {previous} walker {walker_index}", before / own),
            (f"iteration {previous} validation MD", before / "validation" / TRAJECTORY),
        ]
        found = continued_start(paths, spec, temperature_K)
        if found is not None:
            return found
        refused.append("nothing intact to continue from")
    shared = shared_cell_file(settings, campaign_id)
    if how == "equilibrated" and shared.exists():
        atoms = read(shared)
        assert isinstance(atoms, Atoms)
        why = why_broken(atoms, spec, temperature_K)
        if why is None:
            return Start(bare(atoms), "the shared equilibrated cell")
        refused.append(f"the shared equilibrated cell: {why}")
    made = packed_start(spec, seed, committee, temperature_K)
    return Start(made.atoms, made.origin, refused + made.refused)


def keeps_every_frame(spec: CampaignSpec, judged: bool) -> bool:
    """Whether every saved frame must be stored, accurate ones included: no committee
    judged them, a baseline selection draws from all, or an adaptive window may call any
    of them a candidate."""
    return (
        not judged
        or not STRATEGIES[spec.selection.strategy].judged
        or spec.uncertainty.adaptive_candidate_share is not None
    )


def frame_descriptors(committee: Committee, frames: list[Atoms]) -> list[np.ndarray]:
    """Descriptors of ``frames``, computed a batch at a time."""
    return [
        row
        for k in range(0, len(frames), DESCRIPTOR_BATCH)
        for row in committee.descriptors(frames[k : k + DESCRIPTOR_BATCH])
    ]


def explore_walker(
    sessions: Sessions,
    settings: WorkerSettings,
    campaign_id: int,
    iteration_index: int,
    walker_index: int,
) -> None:
    """Run walker ``walker_index`` of an iteration and store its frames and counts.

    Iteration 0 explores with the foundation alone: with no committee to disagree, every
    saved frame is a candidate and selection picks by diversity.
    """
    from wise_al.exploration.walker import WalkerParameters, run_walker
    from wise_al.flags import FlagChecker
    from wise_al.mace.committee import Committee
    from wise_al.mace.fit import file_sha256
    from wise_al.mace.foundations import resolve_foundation

    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
        iteration_id = IterationRepository(session).at(campaign_id, iteration_index).id
        members = ModelVersionRepository(session).latest_committee(campaign_id, iteration_index)
        run_id = _start_walker(session, campaign_id, iteration_index, walker_index)
        seed = WalkerRunRepository(session).get(run_id).seed
        scale = sigma_scale(session, campaign_id, iteration_index)
        starts = DatasetRepository(session).named_in(spec).get("exploration.start_structures")
        starts_file = Path(starts.file_path) if starts is not None else None
    if members:
        model_files = [Path(str(m.file_path)) for m in members]
    elif spec.model.foundation:
        model_files = [resolve_foundation(spec.model.foundation, settings.home)]
    else:
        raise WiseAlError("model.foundation: a from-scratch campaign has no model to explore with")
    device = spec.exploration.device if spec.exploration.device != "auto" else settings.device
    committee = Committee(model_files, device=device, min_members=1)
    conditions = walker_conditions(spec)[walker_index]
    start = walker_start(
        settings, spec, campaign_id, iteration_index, walker_index, starts_file, seed, committee
    )
    walker = WalkerParameters.from_spec(
        spec.exploration,
        spec.uncertainty,
        temperature_K=conditions["temperature_K"],
        pressure_bar=conditions["pressure_bar"],
        steps=spec.exploration.steps_for(iteration_index),
        seed=seed,
        sigma_scale=scale,
    )
    checker = FlagChecker(spec.flags, start.atoms, conditions["temperature_K"])
    trajectory = (
        iteration_dir(settings, campaign_id, iteration_index) / f"walker-{walker_index}.extxyz"
    )
    cancelled = cancelled_check(sessions, campaign_id)
    try:
        result = run_walker(
            start.atoms,
            committee,
            walker,
            checker,
            trajectory,
            should_stop=throttled(cancelled, POLL_S),
        )
    except Stopped as stopped:
        # the campaign was cancelled or failed: no frames, no trajectory; the walker says why
        trajectory.unlink(missing_ok=True)
        with transaction(sessions) as session:
            WalkerRunRepository(session).record_failure(
                iteration_id, walker_index, conditions, seed, f"cancelled ({stopped})"
            )
        return
    # members that never disagree are one model saved twice (e.g. fine-tuned on a single
    # batch): their zero spread says nothing, so the frames count as unjudged
    judged = len(model_files) > 1 and any(
        f.deviation.max_eV_per_A > COLLAPSED_EV_PER_A for f in result.frames
    )
    keep_all = keeps_every_frame(spec, judged)
    kept = kept_frames(
        result.frames,
        keep_all=keep_all,
        onset_frames=spec.selection.onset_frames,
        audit=spec.selection.audit_frames,
        seed=seed,
    )
    descriptors = frame_descriptors(committee, [k.frame.atoms for k in kept])
    with transaction(sessions) as session:
        run = WalkerRunRepository(session).get(run_id, for_update=True)
        if run.status != RunStatus.RUNNING:
            return  # a concurrent delivery of this walker finished first: its frames stand
        frames = FrameRepository(session)
        for k, descriptor in zip(kept, descriptors, strict=True):
            frames.add_kept(k, descriptor, judged, campaign_id, iteration_id, walker_run_id=run_id)
        counts = Counter(str(f.frame_class) for f in result.frames) if judged else Counter()
        counts["saved"] = len(result.frames)
        if len(model_files) > 1 and not judged:
            counts["collapsed_committee"] = 1
        run.frame_counts = dict(counts)
        if judged:
            run.deviation_histogram = deviation_histogram(
                [f.deviation.max_eV_per_A for f in result.frames]
            )
        run.steps_done, run.stop_reason = result.steps_done, result.stop_reason
        run.conditions = {**run.conditions, "start": start.to_dict()}
        run.status = RunStatus.STOPPED_EARLY if result.stopped_early else RunStatus.DONE
        run.trajectory_path = str(trajectory)
        run.trajectory_sha256 = file_sha256(trajectory)


def _explore(sessions: Sessions, settings: WorkerSettings, campaign_id: int, c: Command) -> None:
    explore_walker(sessions, settings, campaign_id, c.iteration, index_of(c))


def _explored(session: Session, campaign_id: int, command: Command) -> bool:
    iteration = IterationRepository(session).at(campaign_id, command.iteration)
    run = WalkerRunRepository(session).find(iteration.id, index_of(command))
    return run is not None and run.status in (RunStatus.DONE, RunStatus.STOPPED_EARLY)


def _walker_failed(session: Session, campaign_id: int, command: Command, error: str) -> None:
    spec, index = spec_of(session, campaign_id), index_of(command)
    iteration = IterationRepository(session).at(campaign_id, command.iteration)
    WalkerRunRepository(session).record_failure(
        iteration.id,
        index,
        walker_conditions(spec)[index],
        _seed(spec, command.iteration, index),
        error,
    )


#: One walker of an iteration: committee MD on a GPU; its walker run holds the outcome.
EXPLORE = UnitKind(Unit.EXPLORE, _explore, _explored, _walker_failed)
