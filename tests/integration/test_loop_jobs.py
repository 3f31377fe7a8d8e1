"""The loop's jobs run in this process, in order, against real databases, CP2K and MACE.

No Celery here (tests/e2e/test_campaign_service.py runs the same loop through real
workers): this checks what the jobs persist and that the loop stops by its own rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.loop_fixtures import drain, small_campaign
from tests.support.shared_campaign import REJECT_REASON, CampaignCopy
from wise_al.campaign_spec import parse_spec
from wise_al.db.engine import transaction
from wise_al.db.models import (
    Campaign,
    CampaignStatus,
    Frame,
    FrameSource,
    FrameStatus,
    Iteration,
    Label,
    ModelVersion,
    ReferenceEnergies,
    Review,
    ReviewDecision,
    RunStatus,
    TaskRun,
    Validation,
    WalkerRun,
)
from wise_al.db.repositories import CampaignRepository
from wise_al.jobs.run import run_unit
from wise_al.settings import WorkerSettings

# one worker runs every reader of the shared campaign: the others never wait for its build
pytestmark = [needs_cp2k, pytest.mark.slow, pytest.mark.xdist_group("shared-campaign")]


def test_a_campaign_runs_two_iterations_and_stops_by_its_rule(
    finished_campaign: CampaignCopy,
) -> None:
    """The shared campaign (tests/support/shared_campaign.py), driven once on PostgreSQL."""
    settings, campaign_id = finished_campaign.settings, finished_campaign.campaign_id
    session_factory = finished_campaign.sessions
    rejected = finished_campaign.record["decided"]["0"][0]
    with transaction(session_factory) as session:
        campaign = session.get_one(Campaign, campaign_id)
        errors = session.scalars(select(TaskRun.error).where(TaskRun.error.is_not(None))).all()
        assert campaign.status == CampaignStatus.COMPLETED, (campaign.status_reason, errors)
        assert "max_iterations (2)" in str(campaign.status_reason)
        iterations = session.scalars(select(Iteration).order_by(Iteration.index)).all()
        assert [(i.index, str(i.phase)) for i in iterations] == [(0, "done"), (1, "done")]
        for it in iterations:
            assert it.metrics["selected"] == 3
            assert it.metrics["evaluation"]["members"] == 2
            # the same external frames score every iteration: comparable numbers
            assert it.metrics["evaluation"]["external_forces_rmse_meV_per_A"] > 0
        # each iteration's new labels (one of iteration 0's three was rejected in review),
        # and how many of them the training's outlier filter left out
        labelled = [
            (x.frame_id, str(x.status), x.failure_detail) for x in session.scalars(select(Label))
        ]
        new_labels = [it.metrics["evaluation"]["new_labels"] for it in iterations]
        assert new_labels == [2, 3], labelled
        assert all(
            0 <= it.metrics["evaluation"]["new_labels_excluded_as_outliers"] <= 3
            for it in iterations
        )
        # iteration 1 was explored by iteration 0's committee: calibrated on its 3 new labels
        assert "calibration" not in iterations[0].metrics
        calibration = iterations[1].metrics["calibration"]
        assert calibration["status"] == "done" and calibration["frames"] == 3
        assert calibration["committee_iteration"] == 0
        assert len(calibration["true_max_eV_per_A"]) == 3
        # iteration 0 explored with the foundation alone: no deviation; iteration 1 judged
        frames = session.scalars(select(Frame).order_by(Frame.id)).all()
        first = [f for f in frames if f.iteration_id == iterations[0].id]
        second = [f for f in frames if f.iteration_id == iterations[1].id]
        assert first and all(f.max_deviation_eV_per_A is None for f in first)
        assert all(f.max_deviation_eV_per_A is not None for f in second)
        assert all(len(f.descriptor or []) > 0 for f in frames)
        # 3 selected per iteration, one of iteration 0's rejected in review
        selected = [f for f in frames if f.status == FrameStatus.SELECTED]
        assert len(selected) == 5 and all(f.selection_reason for f in selected)
        assert [f.id for f in frames if f.status == FrameStatus.REJECTED] == [rejected]
        labels = session.scalars(select(Label)).all()
        assert sorted(x.frame_id for x in labels) == sorted(f.id for f in selected)
        assert all(x.status == RunStatus.DONE and x.input_sha256 for x in labels)
        assert len({x.level_sha256 for x in labels}) == 1
        versions = session.scalars(select(ModelVersion)).all()
        assert sorted((v.iteration_index, v.member_index) for v in versions) == [
            (0, 0),
            (0, 1),
            (1, 0),
            (1, 1),
        ]
        assert all(Path(str(v.file_path)).is_file() for v in versions)
        # iteration 1's members saw iteration 0's labels too
        counts = {v.iteration_index: v.training_set_sha256 for v in versions}
        assert counts[0] != counts[1]
        validations = session.scalars(select(Validation).order_by(Validation.iteration_index)).all()
        _check_validations(list(validations), settings)
        # iteration 0's validation MD, judged by its committee, entered iteration 1's
        # selection (every frame carries the 8 Å Li–Li flag: all are candidates)
        adopted = [f for f in second if f.validation_id == validations[0].id]
        assert adopted and all(f.source == FrameSource.VALIDATION for f in adopted)
        assert len(adopted) == iterations[1].metrics["validation_candidates"]
        assert all(f.source == FrameSource.WALKER for f in first)
        walker = session.scalars(
            select(WalkerRun).where(WalkerRun.iteration_id == iterations[1].id)
        ).one()
        _check_equilibrated_start(walker, settings, campaign_id)
        runs = session.scalars(select(TaskRun)).all()
        assert all(r.status == RunStatus.DONE and r.attempts == 1 for r in runs)
        assert sorted(r.unit_key for r in runs) == sorted(finished_campaign.record["units"])


def test_a_repeated_delivery_of_any_unit_changes_nothing(
    finished_campaign: CampaignCopy,
) -> None:
    session_factory, settings = finished_campaign.sessions, finished_campaign.settings
    with transaction(session_factory) as session:
        runs = session.scalars(select(TaskRun.id)).all()
    before = _table_counts(session_factory)
    for run_id in runs:
        assert run_unit(session_factory, settings, run_id) == []
    assert _table_counts(session_factory) == before


def _table_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with transaction(sessions) as session:
        return {
            table.__name__: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (Frame, Label, ModelVersion, TaskRun, Iteration, ReferenceEnergies)
        }


def test_the_review_gate_waits_for_decisions(finished_campaign: CampaignCopy) -> None:
    record = finished_campaign.record
    # the first drain explored and selected, then stopped at the gate: nothing labelled
    gate = record["gate"]
    assert not any("/label/" in key for key in gate["units"])
    assert gate["status"] == "running" and gate["labels"] == 0
    assert "waiting for 3 review decisions" in str(gate["reason"])
    # the drain after iteration 0's decisions labelled only what was accepted, then waited
    reviewing = record["reviewing"]
    assert reviewing["status"] == "running" and "waiting for" in str(reviewing["reason"])
    rejected, *accepted = record["decided"]["0"]
    with transaction(finished_campaign.sessions) as session:
        first = session.scalars(select(Iteration.id).where(Iteration.index == 0)).one()
        labelled = set(
            session.scalars(select(Label.frame_id).join(Frame).where(Frame.iteration_id == first))
        )
        assert labelled == set(accepted)  # the rejected frame never reached CP2K
        reviews = session.execute(
            select(Review.decision, Review.reason).where(Review.frame_id == rejected)
        ).all()
        assert [tuple(r) for r in reviews] == [(ReviewDecision.REJECT, REJECT_REASON)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dft_worker_without_cp2k_fails_the_campaign_with_the_reason(
    session_factory: sessionmaker[Session], demo_home: Path, tmp_path: Path
) -> None:
    settings = WorkerSettings(
        home=demo_home,
        artifact_dir=tmp_path / "artifacts",
        device="cpu",
        cp2k_binary=str(tmp_path / "no-cp2k-here"),
    )
    with transaction(session_factory) as session:
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(small_campaign())).id
        repo.control(campaign_id, "start")
    drain(session_factory, settings, campaign_id)  # ends: nothing waits on the failed units
    with transaction(session_factory) as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert campaign.status == CampaignStatus.FAILED
        assert "reference energies failed" in str(campaign.status_reason)
        assert "no-cp2k-here" in str(campaign.status_reason)  # the unit's own error
        failed = session.scalars(select(TaskRun).where(TaskRun.status == RunStatus.FAILED)).all()
        assert failed and all("no-cp2k-here" in str(r.error) for r in failed)
        ran = [r for r in failed if r.attempts > 0]
        assert ran and all(r.attempts == 1 for r in ran)  # deterministic: never retried
        # leases still queued when the campaign failed never ran: failed as "not run"
        assert all(str(r.error).startswith("not run") for r in failed if r.attempts == 0)
        # a label unit that ran before the campaign failed left its failure on a label row
        labels = session.scalars(select(Label)).all()
        assert all(x.status == RunStatus.FAILED and x.energy_eV is None for x in labels)
        assert all("no-cp2k-here" in str(x.failure_detail) for x in labels)


def _check_validations(validations: list[Validation], settings: WorkerSettings) -> None:
    """One validation per iteration, each from the packed cell relaxed and equilibrated by
    its own committee, with its observables."""
    from ase.io import read

    from wise_al.observables.report import observe

    assert [v.iteration_index for v in validations] == [0, 1]
    starts = []
    for v in validations:
        assert v.status == RunStatus.DONE and v.frames == 11 and v.steps_done == 100, v.error
        trajectory = read(str(v.trajectory_path), ":")
        assert isinstance(trajectory, list) and len(trajectory) == 11
        lithium = [a.index for a in trajectory[0] if a.symbol == "Li"]
        starts.append(trajectory[0].positions)
        assert v.parameters["start"]["origin"].startswith("packed (seed 0)")
        # the stored observables are those of the stored trajectory
        again = observe(trajectory, frame_interval_fs=5.0)
        assert v.observables["density_g_per_cm3"] == again["density_g_per_cm3"]
        assert v.observables["cn_li_o_total"] == again["cn_li_o_total"]
        assert v.parameters["driven_by"]["driver"] == "member"
        scores = {s["metric"]: s for s in v.scores}
        assert set(scores) >= {"density_error_percent", "sq_r_factor"}
        assert v.observables["density_ensemble"] == "NVT"
        # independently: a saved frame with two Li⁺ under 2.6 Å breaks the run (a molecule
        # broken or a temperature run away may break it earlier: nothing is graded then)
        contacts = [
            atoms.info["step"] for atoms in trajectory
            if min(atoms.get_distances(i, [j for j in lithium if j > i], mic=True).min()
                   for i in lithium[:-1]) < 2.6
        ]  # fmt: skip
        broke = v.observables.get("broke_at_step")
        if broke is not None:
            assert broke <= min(contacts, default=broke)
            assert {s["grade"] for s in v.scores} == {"not graded"}
            assert all(f"broke at step {broke}" in s["reason"] for s in v.scores)
            continue
        assert not contacts
        # an NVT run keeps its density: that grade could not fail, so it is not given
        assert scores["density_error_percent"]["grade"] == "not measurable"
        assert "NVT" in scores["density_error_percent"]["reason"]
        graded = [s for s in v.scores if s["value"] is not None]
        assert graded and all(s["grade"] in ("good", "fair", "bad") for s in graded)
    assert not np.allclose(starts[0], starts[1])  # each committee equilibrated its own


def _check_equilibrated_start(
    walker: WalkerRun, settings: WorkerSettings, campaign_id: int
) -> None:
    """5 MD steps from iteration 0's equilibrated validation cell, not from a fresh packing
    (another seed's cell), unless that cell broke: then the walker says why it packed."""
    from ase.io import read

    from wise_al.jobs.artifacts import iteration_dir

    start = walker.conditions["start"]
    if start["origin"] != "the shared equilibrated cell":
        assert start["origin"].startswith("packed")
        assert any("the shared equilibrated cell" in r for r in start["refused"]), start
        return
    shared = read(iteration_dir(settings, campaign_id, 0) / "validation-start.extxyz")
    first = read(str(walker.trajectory_path), 0)
    assert isinstance(shared, Atoms) and isinstance(first, Atoms)
    step = np.linalg.norm(first.positions - shared.positions, axis=1)
    assert step.max() < 0.5, step.max()
