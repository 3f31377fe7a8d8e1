"""Train one committee member on every label of the campaign; its model version holds it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wise_al.db.engine import transaction
from wise_al.db.models import Frame
from wise_al.db.repositories import (
    FrameRepository,
    LabelRepository,
    ModelVersionRepository,
    ReferenceEnergiesRepository,
)
from wise_al.errors import WiseAlError
from wise_al.jobs.artifacts import iteration_dir
from wise_al.jobs.unit import (
    POLL_S,
    Sessions,
    UnitKind,
    cancelled_check,
    index_of,
    spec_of,
)
from wise_al.loop import Command, Unit
from wise_al.processes import throttled
from wise_al.settings import WorkerSettings
from wise_al.systems.labelled import labelled_frame
from wise_al.systems.structures import structure_from_dict


def _group(frame: Frame, timestep_fs: float, block_fs: float | None) -> str | None:
    """A frame's split group: its walker run's trajectory block, or its imported group."""
    if frame.walker_run_id is None:
        return frame.split_group
    from wise_al.mace.datasets import split_group

    return split_group(frame.walker_run_id, frame.md_step, timestep_fs, block_fs)


def train_member(
    sessions: Sessions,
    settings: WorkerSettings,
    campaign_id: int,
    iteration_index: int,
    member: int,
) -> None:
    """Fine-tune (or train) member ``member`` of this iteration and record its model version.

    Every iteration starts again from the foundation on all labels so far, so a member's
    quality never depends on the history of earlier members. Under strategy ``foundation``
    nothing trains: the foundation is recorded as the one member, scored on the external
    test set.
    """
    if spec_strategy(sessions, campaign_id) == "foundation":
        record_foundation(sessions, settings, campaign_id, iteration_index)
        return
    from wise_al.mace.datasets import check_external_test, write_dataset
    from wise_al.mace.fit import file_sha256, member_job, member_record
    from wise_al.mace.foundations import resolve_foundation
    from wise_al.mace.training import run_training

    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
        e0s = ReferenceEnergiesRepository(session).energies(campaign_id)
        labels = LabelRepository(session).for_training(campaign_id)
        rows = FrameRepository(session).by_id([x.frame_id for x in labels])
        t, timestep_fs = spec.model.training, spec.exploration.timestep_fs
        frames = [
            labelled_frame(
                structure_from_dict(rows[x.frame_id].structure),
                float(x.energy_eV or 0.0),
                x.forces_eV_per_A,
                x.stress_eV_per_A3,
                x.level_sha256,
                group=_group(rows[x.frame_id], timestep_fs, t.split_block_fs),
                label_id=x.id,
            )
            for x in labels
        ]
    if not frames:
        raise WiseAlError("no successful label to train on")
    work = iteration_dir(settings, campaign_id, iteration_index) / "train"
    # each member writes its own copy of the (identical) split: members may run at once
    dataset = write_dataset(
        frames,
        work / f"data-{member}",
        t.valid_fraction,
        t.test_fraction,
        labels[0].level_sha256,
        max_force_eV_per_A=t.max_label_force_eV_per_A,
        energy_outlier_mads=t.energy_outlier_mads,
    )
    external = (
        check_external_test(settings.home / t.external_test_set, dataset.level_sha256)
        if t.external_test_set
        else None
    )
    foundation = (
        resolve_foundation(spec.model.foundation, settings.home) if spec.model.foundation else None
    )
    replay = settings.home / t.replay_data if t.replay_data else None
    device = spec.exploration.device if spec.exploration.device != "auto" else settings.device
    job = member_job(
        member,
        dataset,
        spec.model.strategy,
        t,
        e0s,
        work,
        foundation,
        replay,
    )
    cancelled = cancelled_check(sessions, campaign_id)
    trained = run_training(
        job, threads=settings.train_threads, should_stop=throttled(cancelled, POLL_S)
    )
    if trained.stopped and cancelled():
        return  # the campaign is cancelled: no model version, the partial model removed
    if trained.model_file is None:
        raise WiseAlError(
            f"member {member} failed to train (exit {trained.returncode}); see {trained.log_file}"
        )
    record = member_record(trained, dataset, device if device != "auto" else "cpu", external)
    with transaction(sessions) as session:
        ModelVersionRepository(session).record_member(
            campaign_id,
            iteration_index,
            member,
            strategy=spec.model.strategy,
            record=record,
            dataset_sha256=dataset.sha256,
            parent=None
            if foundation is None
            else {"file": str(foundation), "sha256": file_sha256(foundation)},
            e0s_eV={str(z): e for z, e in sorted(job.e0s.items())},
            level_sha256=dataset.level_sha256,
        )


def spec_strategy(sessions: Sessions, campaign_id: int) -> str:
    with transaction(sessions) as session:
        return spec_of(session, campaign_id).model.strategy


def record_foundation(
    sessions: Sessions, settings: WorkerSettings, campaign_id: int, iteration_index: int
) -> None:
    """Record the foundation, untouched, as the committee's only member."""
    from wise_al.mace.datasets import check_external_test
    from wise_al.mace.fit import foundation_record
    from wise_al.mace.foundations import resolve_foundation

    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
    assert spec.model.foundation is not None  # the spec requires one for this strategy
    foundation = resolve_foundation(spec.model.foundation, settings.home)
    t = spec.model.training
    external = (
        check_external_test(settings.home / t.external_test_set, None)
        if t.external_test_set
        else None
    )
    device = spec.exploration.device if spec.exploration.device != "auto" else settings.device
    work = iteration_dir(settings, campaign_id, iteration_index) / "foundation"
    record = foundation_record(foundation, external, device if device != "auto" else "cpu", work)
    with transaction(sessions) as session:
        ModelVersionRepository(session).record_member(
            campaign_id,
            iteration_index,
            0,
            strategy="foundation",
            record=record,
            dataset_sha256="",
            parent={"file": str(foundation), "sha256": record["sha256"]},
        )


def _trained(session: Session, campaign_id: int, command: Command) -> bool:
    return ModelVersionRepository(session).is_trained(
        campaign_id, command.iteration, index_of(command)
    )


def _member_failed(session: Session, campaign_id: int, command: Command, error: str) -> None:
    strategy = spec_of(session, campaign_id).model.strategy
    ModelVersionRepository(session).record_failure(
        campaign_id, command.iteration, index_of(command), strategy, error
    )


#: One committee member of an iteration, trained on a GPU; its model version holds it.
TRAIN = UnitKind(
    Unit.TRAIN,
    lambda sessions, settings, campaign_id, c: train_member(
        sessions, settings, campaign_id, c.iteration, index_of(c)
    ),
    _trained,
    _member_failed,
)
