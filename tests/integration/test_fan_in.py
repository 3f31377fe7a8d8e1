"""The fan-in, driven by fake units on SQLite and PostgreSQL: every unit kind failing.

Each unit kind fails deterministically, fails transiently until its attempts run out, and
is delivered twice; the campaign must end or go on exactly as the loop says, with the
failure on the unit's domain row and no lease left running. The units are fakes that
write the same rows as the real ones (tests/support/fake_units.py): no CP2K, no MACE.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.support.fake_units import FAKE_UNITS, FRAMES_PER_WALKER, fake_label_row, with_fault
from tests.support.loop_fixtures import small_campaign
from wise_al.campaign_spec import parse_spec
from wise_al.campaign_spec.dataset import DatasetSpec
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.db.engine import transaction
from wise_al.db.models import (
    Campaign,
    CampaignStatus,
    Frame,
    Iteration,
    Label,
    ModelVersion,
    ReferenceEnergies,
    RunStatus,
    TaskRun,
    Validation,
    WalkerRun,
)
from wise_al.db.repositories import CampaignRepository, TaskRunRepository
from wise_al.errors import TransientError
from wise_al.jobs.datasets import store_dataset
from wise_al.jobs.run import TRANSIENT, advance_and_plan, run_unit
from wise_al.jobs.unit import UnitKind
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings

Units = dict[Unit, UnitKind]
MAX_ATTEMPTS = 3


@pytest.fixture
def settings(tmp_path: Path) -> WorkerSettings:
    return WorkerSettings(
        home=tmp_path, artifact_dir=tmp_path / "artifacts", unit_max_attempts=MAX_ATTEMPTS
    )


#: Recorded xTB labels of Li+ in water, and a GFN1-xTB level record to declare them at.
SEED_DATA = Path(__file__).parents[1] / "data" / "li_water_xtb.extxyz"
SEED_LEVEL = {
    "code": "CP2K",
    "method": "GFN1-xTB",
    "eps_scf": 1e-6,
    "cp2k_overrides": {},
    "data_files_sha256": {},
}


def start_campaign(
    sessions: sessionmaker[Session],
    settings: WorkerSettings | None = None,
    seeded: bool = False,
    packed: bool = False,
) -> int:
    """Two walkers, two members, two labels per iteration, two iterations, no review;
    ``seeded``: iteration 0 imports an uploaded dataset first; ``packed``: it labels
    packed cells first."""
    if seeded:
        assert settings is not None
        declared = DatasetSpec(
            name="seed", level_of_theory=SEED_LEVEL, labelling=LabellingSpec(method="xtb")
        )
        with transaction(sessions) as session, SEED_DATA.open("rb") as handle:
            store_dataset(session, settings, declared, handle)
    spec = small_campaign(
        **{
            "system.walkers": [{"temperature_K": 300.0, "replicas": 2}],
            "selection.budget_per_iteration": 2,
            "model.committee_size": 2,
            "review.gate": "auto",
            "validation": {"enabled": True, "steps": 20, "save_interval_steps": 10},
            "model.initial_dataset": "seed" if seeded else None,
            "model.initial_cells": {"cells": 2, "frames_per_cell": 1} if packed else None,
        }
    )
    with transaction(sessions) as session:
        campaigns = CampaignRepository(session)
        campaign_id = campaigns.create(parse_spec(spec)).id
        campaigns.control(campaign_id, "start")
    return campaign_id


def drive(
    sessions: sessionmaker[Session],
    settings: WorkerSettings,
    campaign_id: int,
    units: Units,
    deliveries: int = 1,
) -> int:
    """Run what the loop plans as one worker would, retrying transient errors as Celery
    does; each message is delivered ``deliveries`` times. Returns the deliveries made."""
    queue = advance_and_plan(sessions, campaign_id)
    made = 0
    while queue:
        run = queue.pop(0)
        for _ in range(deliveries):
            made += 1
            try:
                queue += run_unit(sessions, settings, run.id, "fake-worker", units)
            except TRANSIENT:
                queue.append(run)  # the task's autoretry sends it again
        assert made < 500, "the loop does not end"
    return made


def deterministic(c: Command) -> None:
    raise RuntimeError(f"{c.unit} broke on purpose")


def transient(c: Command) -> None:
    raise TransientError(f"{c.unit}: the broker went away")


def faulty(unit: Unit, fault: Callable[[Command], None]) -> Units:
    """The fake units, where the first ``unit`` of its iteration hits ``fault`` each time.

    Calibration runs from iteration 1 (iteration 0 has no committee to calibrate).
    """
    iteration = 1 if unit == Unit.CALIBRATE else 0
    target: list[Command] = []

    def maybe(c: Command) -> None:
        if c.iteration == iteration and not target:
            target.append(c)
        if target and c == target[0]:
            fault(c)

    return with_fault(FAKE_UNITS, unit, maybe)


#: What the loop says a failure of each unit means, and where the failure is recorded.
FAILS_CAMPAIGN = {
    Unit.SEED: "importing the initial dataset failed",
    Unit.PACK: "packing and relaxing the initial cells failed",
    Unit.SELECT: "selection failed",
    Unit.E0S: "reference energies failed",
    Unit.TRAIN: "members failed to train",
    Unit.EVALUATE: "evaluation failed",
}
#: A validation whose MD fails is a finding about the potential: the campaign goes on.
GOES_ON = {Unit.EXPLORE, Unit.LABEL, Unit.CALIBRATE, Unit.VALIDATE}


def failure_on_domain_row(session: Session, campaign_id: int, unit: Unit) -> str | None:
    """The error the unit's domain row holds."""
    iteration = session.scalars(
        select(Iteration).where(
            Iteration.campaign_id == campaign_id,
            Iteration.index == (1 if unit == Unit.CALIBRATE else 0),
        )
    ).one()
    if unit == Unit.EXPLORE:
        return session.scalars(
            select(WalkerRun.error).where(
                WalkerRun.iteration_id == iteration.id, WalkerRun.walker_index == 0
            )
        ).one()
    if unit == Unit.LABEL:
        return session.scalars(
            select(Label.failure_detail).where(Label.status == RunStatus.FAILED)
        ).one()
    if unit == Unit.E0S:
        return session.scalars(select(ReferenceEnergies.error)).one()
    if unit == Unit.TRAIN:
        return session.scalars(
            select(ModelVersion.error).where(ModelVersion.status == RunStatus.FAILED)
        ).one()
    if unit == Unit.CALIBRATE:
        return str(iteration.metrics["calibration"]["reason"])
    if unit == Unit.VALIDATE:
        return session.scalars(
            select(Validation.error).where(Validation.iteration_index == iteration.index)
        ).one()
    return str(iteration.metrics["failures"][unit])


def assert_settled(session: Session, campaign_id: int) -> None:
    """No lease running, and none queued once the campaign has ended."""
    running = session.scalars(select(TaskRun.unit_key).where(TaskRun.status == RunStatus.RUNNING))
    assert list(running) == []
    campaign = session.get_one(Campaign, campaign_id)
    if campaign.status != CampaignStatus.RUNNING:
        queued = session.scalars(select(TaskRun.unit_key).where(TaskRun.status == RunStatus.QUEUED))
        assert list(queued) == []


@pytest.mark.parametrize("unit", list(Unit))
@pytest.mark.parametrize("kind", ["deterministic", "transient"])
def test_a_failing_unit_is_settled_and_the_loop_decides(
    session_factory: sessionmaker[Session], settings: WorkerSettings, unit: Unit, kind: str
) -> None:
    campaign_id = start_campaign(
        session_factory, settings, seeded=unit == Unit.SEED, packed=unit == Unit.PACK
    )
    units = faulty(unit, deterministic if kind == "deterministic" else transient)
    drive(session_factory, settings, campaign_id, units)
    with transaction(session_factory) as session:
        campaign = session.get_one(Campaign, campaign_id)
        error = failure_on_domain_row(session, campaign_id, unit)
        assert error is not None and f"{unit}" in error
        if kind == "transient":
            assert f"gave up after {MAX_ATTEMPTS} attempts" in error
        # the unit's own lease; leases the ended campaign never ran are failed as "not run"
        failed = session.scalars(
            select(TaskRun).where(TaskRun.status == RunStatus.FAILED, TaskRun.attempts > 0)
        ).one()
        assert all(
            "not run: the campaign failed" in str(r.error)
            for r in session.scalars(select(TaskRun).where(TaskRun.attempts == 0))
        )
        assert failed.unit == unit
        assert failed.attempts == (1 if kind == "deterministic" else MAX_ATTEMPTS)
        if unit in FAILS_CAMPAIGN:
            assert campaign.status == CampaignStatus.FAILED
            assert FAILS_CAMPAIGN[unit] in str(campaign.status_reason)
            assert "broke on purpose" in str(campaign.status_reason) or kind == "transient"
        else:
            assert campaign.status == CampaignStatus.COMPLETED, campaign.status_reason
            assert "max_iterations (2)" in str(campaign.status_reason)
        assert_settled(session, campaign_id)


def test_every_delivery_twice_changes_nothing(
    session_factory: sessionmaker[Session], settings: WorkerSettings
) -> None:
    campaign_id = start_campaign(session_factory)
    deliveries = drive(session_factory, settings, campaign_id, FAKE_UNITS, deliveries=2)
    with transaction(session_factory) as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert campaign.status == CampaignStatus.COMPLETED, campaign.status_reason
        runs = session.scalars(select(TaskRun)).all()
        assert deliveries == 2 * len(runs)
        assert {r.status for r in runs} == {RunStatus.DONE}
        assert all(r.attempts == 1 for r in runs), "a second delivery ran a unit again"
        # 2 iterations x (2 walkers, 2 labels, 2 members) and one E0s: nothing doubled
        assert session.scalar(select(func.count()).select_from(WalkerRun)) == 4
        assert session.scalar(select(func.count()).select_from(Label)) == 4
        assert session.scalar(select(func.count()).select_from(ModelVersion)) == 4
        assert session.scalar(select(func.count()).select_from(ReferenceEnergies)) == 1
        assert session.scalar(select(func.count()).select_from(Validation)) == 2
        frames = session.scalar(select(func.sum(WalkerRun.steps_done)))
        assert frames == 4 * 5 * FRAMES_PER_WALKER


def test_a_transient_error_is_retried_and_the_unit_then_succeeds(
    session_factory: sessionmaker[Session], settings: WorkerSettings
) -> None:
    campaign_id = start_campaign(session_factory)
    seen: list[Command] = []

    def once(c: Command) -> None:
        if c not in seen:
            seen.append(c)
            raise TransientError("the database restarted")

    drive(session_factory, settings, campaign_id, with_fault(FAKE_UNITS, Unit.TRAIN, once))
    with transaction(session_factory) as session:
        assert session.get_one(Campaign, campaign_id).status == CampaignStatus.COMPLETED
        train = session.scalars(select(TaskRun).where(TaskRun.unit == Unit.TRAIN)).all()
        assert {(r.status, r.attempts) for r in train} == {(RunStatus.DONE, 2)}
        assert all("database restarted" in str(r.error) or r.error is None for r in train)


def test_a_lost_race_to_a_concurrent_delivery_is_a_success(
    session_factory: sessionmaker[Session], settings: WorkerSettings
) -> None:
    """Another delivery wrote the label first: the unique constraint says so, not a bug."""
    campaign_id = start_campaign(session_factory)

    def beaten(c: Command) -> None:
        with transaction(session_factory) as session:  # the concurrent delivery commits first
            session.add(fake_label_row(c.index or 0))

    drive(session_factory, settings, campaign_id, with_fault(FAKE_UNITS, Unit.LABEL, beaten))
    with transaction(session_factory) as session:
        assert session.get_one(Campaign, campaign_id).status == CampaignStatus.COMPLETED
        labels = session.scalars(select(TaskRun).where(TaskRun.unit == Unit.LABEL)).all()
        assert {(r.status, r.attempts) for r in labels} == {(RunStatus.DONE, 1)}
        assert session.scalar(select(func.count()).select_from(Label)) == 4


def test_an_integrity_error_with_no_row_is_a_bug_not_retried(
    session_factory: sessionmaker[Session], settings: WorkerSettings
) -> None:
    campaign_id = start_campaign(session_factory)

    def constraint_bug(c: Command) -> None:
        raise IntegrityError("INSERT INTO model_version ...", {}, Exception("NOT NULL failed"))

    units = with_fault(FAKE_UNITS, Unit.TRAIN, constraint_bug)
    drive(session_factory, settings, campaign_id, units)
    with transaction(session_factory) as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert campaign.status == CampaignStatus.FAILED
        assert "NOT NULL failed" in str(campaign.status_reason)
        failed = session.scalars(select(TaskRun).where(TaskRun.status == RunStatus.FAILED)).all()
        # each member's lease ran once; none queued behind the failure ran at all
        assert {r.attempts for r in failed} <= {0, 1} and any(r.attempts == 1 for r in failed)
        assert all("not run" in str(r.error) for r in failed if r.attempts == 0)
        assert_settled(session, campaign_id)


def test_a_unit_that_keeps_killing_its_worker_is_given_up(
    session_factory: sessionmaker[Session], settings: WorkerSettings
) -> None:
    """A lease taken and never settled (the worker died each time) runs out of attempts."""
    campaign_id = start_campaign(session_factory)
    planned = advance_and_plan(session_factory, campaign_id)
    walker = planned[0]
    for _ in range(MAX_ATTEMPTS):  # each delivery died before settling
        with transaction(session_factory) as session:
            TaskRunRepository(session).claim(walker.id, "doomed")
    queue = run_unit(session_factory, settings, walker.id, "fake-worker", FAKE_UNITS)
    with transaction(session_factory) as session:
        lease = session.get_one(TaskRun, walker.id)
        assert (lease.status, lease.attempts) == (RunStatus.FAILED, MAX_ATTEMPTS + 1)
        assert "worker was lost" in str(lease.error)
        assert session.scalars(select(WalkerRun.status)).all() == [RunStatus.FAILED]
    assert queue == []  # the other walker is still planned: the iteration waits for it only


def test_a_seeded_campaign_imports_once_and_its_budget_counts_cp2k_labels_only(
    session_factory: sessionmaker[Session], settings: WorkerSettings
) -> None:
    campaign_id = start_campaign(session_factory, settings, seeded=True)
    drive(session_factory, settings, campaign_id, FAKE_UNITS, deliveries=2)
    with transaction(session_factory) as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert campaign.status == CampaignStatus.COMPLETED, campaign.status_reason
        provenance = session.scalars(select(Label.provenance)).all()
        # 40 imported once despite two deliveries; iteration 0 trains on them without
        # exploring, iteration 1 explores and labels its budget of 2
        assert sorted(set(provenance)) == ["cp2k", "imported"]
        assert provenance.count("imported") == 40 and provenance.count("cp2k") == 2
        seed = session.scalars(select(TaskRun).where(TaskRun.unit == Unit.SEED)).one()
        assert (seed.status, seed.attempts) == (RunStatus.DONE, 1)


def test_packed_cells_are_stored_once_and_their_labels_count_against_the_budget(
    session_factory: sessionmaker[Session], settings: WorkerSettings
) -> None:
    campaign_id = start_campaign(session_factory, settings, packed=True)
    drive(session_factory, settings, campaign_id, FAKE_UNITS, deliveries=2)
    with transaction(session_factory) as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert campaign.status == CampaignStatus.COMPLETED, campaign.status_reason
        iteration = session.scalars(select(Iteration).where(Iteration.index == 0)).one()
        packed = session.scalars(select(Frame).where(Frame.iteration_id == iteration.id)).all()
        # two deliveries of the unit, two frames: the second saw the seed recorded and left
        assert [f.split_group for f in packed] == ["initial-cell-0", "initial-cell-1"]
        assert iteration.metrics["seeded"] == {"packed_cells": 2, "frames": 2}
        # the packed frames are DFT labels like any: 2 of them, then iteration 1's budget of 2
        assert session.scalars(select(Label.provenance)).all() == ["cp2k"] * 4
        pack = session.scalars(select(TaskRun).where(TaskRun.unit == Unit.PACK)).one()
        assert (pack.status, pack.attempts) == (RunStatus.DONE, 1)
