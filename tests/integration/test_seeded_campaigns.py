"""Campaigns that start from uploaded data or train nothing, run by the real jobs in order
(real CP2K labels and E0s, real MACE training), to their stopping rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from ase.io import read
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.loop_fixtures import SHORT_VALIDATION, drain, small_campaign
from wise_al.campaign_spec import parse_spec
from wise_al.campaign_spec.dataset import DatasetSpec
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.label import make_labeller
from wise_al.db.engine import transaction
from wise_al.db.models import (
    Campaign,
    CampaignStatus,
    Frame,
    FrameStatus,
    Iteration,
    Label,
    LabelProvenance,
    ModelVersion,
    TaskRun,
    Validation,
)
from wise_al.db.repositories import CampaignRepository
from wise_al.jobs.datasets import store_dataset
from wise_al.settings import WorkerSettings

# every campaign here runs on one backend: the loop's SQL is the same on both (test_fan_in)
pytestmark = [needs_cp2k, pytest.mark.slow]


def _status(sessions: sessionmaker[Session], campaign_id: int) -> tuple[Campaign, list[str]]:
    with transaction(sessions) as session:
        campaign = session.get_one(Campaign, campaign_id)
        errors = session.scalars(select(TaskRun.error).where(TaskRun.error.is_not(None))).all()
        session.expunge(campaign)
        return campaign, [str(e) for e in errors]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_from_scratch_campaign_seeded_with_an_upload_runs_to_its_stopping_rule(
    session_factory: sessionmaker[Session], demo_home: Path, tmp_path: Path
) -> None:
    settings = WorkerSettings(home=demo_home, artifact_dir=tmp_path / "artifacts", device="cpu")
    # the demo foundation's xTB labels stand for a user's AIMD: the level they declare is
    # what this machine's CP2K fingerprints for the campaign's labelling section
    upload = demo_home / "models" / "demo-foundation-data.extxyz"
    frames = read(upload, index=":")
    assert isinstance(frames, list)
    record, level_sha = make_labeller(settings, LabellingSpec()).level(frames[0])
    assert {a.info["REF_level_sha256"] for a in frames} == {level_sha}
    declared = DatasetSpec(
        name="aimd", level_of_theory=record, labelling=LabellingSpec(method="xtb")
    )
    spec = small_campaign(
        **{
            "model.foundation": None,
            "model.strategy": "from_scratch",
            "model.initial_dataset": "aimd",
            "model.training.num_channels": 8,
            "model.training.max_L": 0,
            "model.training.correlation": 2,
            # the baseline: frames drawn at random from everything the walker saved
            "selection.strategy": "random",
        }
    )
    with transaction(session_factory) as session:
        with upload.open("rb") as handle:
            dataset, _ = store_dataset(session, settings, declared, handle)
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(spec)).id
        repo.control(campaign_id, "start")
    drain(session_factory, settings, campaign_id)
    campaign, errors = _status(session_factory, campaign_id)
    assert campaign.status == CampaignStatus.COMPLETED, (campaign.status_reason, errors)
    assert "max_iterations (2)" in str(campaign.status_reason)
    with transaction(session_factory) as session:
        iterations = session.scalars(select(Iteration).order_by(Iteration.index)).all()
        assert iterations[0].metrics["seeded"]["frames"] == len(frames)
        labels = session.scalars(select(Label).order_by(Label.id)).all()
        imported = [x for x in labels if x.provenance == LabelProvenance.IMPORTED]
        computed = [x for x in labels if x.provenance == LabelProvenance.CP2K]
        assert len(imported) == len(frames) and {x.dataset_id for x in imported} == {dataset.id}
        assert [x.energy_eV for x in imported] == [a.info["REF_energy"] for a in frames]
        assert len(computed) == 3 and {x.level_sha256 for x in labels} == {level_sha}
        rows = session.scalars(select(Frame).order_by(Frame.id)).all()
        seeded = [f for f in rows if f.iteration_id == iterations[0].id]
        assert all(f.split_group and f.status == FrameStatus.SELECTED for f in seeded)
        # iteration 1 explored with the from-scratch committee; random selection kept every
        # saved frame and drew 3 of them, the committee's opinion unread
        explored = [f for f in rows if f.iteration_id == iterations[1].id]
        picked = [f for f in explored if f.status == FrameStatus.SELECTED]
        assert len(picked) == 3 and all("random draw" in str(f.selection_reason) for f in picked)
        assert len(explored) == iterations[1].metrics["exploration"]["saved"]
        versions = session.scalars(select(ModelVersion)).all()
        assert {(v.iteration_index, v.strategy) for v in versions} == {
            (0, "from_scratch"),
            (1, "from_scratch"),
        }
        assert all(v.metrics["parent"] is None for v in versions)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_campaign_with_no_data_and_no_model_starts_from_packed_cells_relaxed_by_cp2k(
    session_factory: sessionmaker[Session], demo_home: Path, tmp_path: Path
) -> None:
    settings = WorkerSettings(home=demo_home, artifact_dir=tmp_path / "artifacts", device="cpu")
    spec = small_campaign(
        **{
            "model.foundation": None,
            "model.strategy": "from_scratch",
            "model.initial_cells": {"cells": 2, "relax_steps": 6, "frames_per_cell": 3},
            "model.training.num_channels": 8,
            "model.training.max_L": 0,
            "model.training.correlation": 2,
            "stopping.max_iterations": 1,
        }
    )
    with transaction(session_factory) as session:
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(spec)).id
        repo.control(campaign_id, "start")
    drain(session_factory, settings, campaign_id)
    campaign, errors = _status(session_factory, campaign_id)
    assert campaign.status == CampaignStatus.COMPLETED, (campaign.status_reason, errors)
    assert "max_iterations (1)" in str(campaign.status_reason)
    with transaction(session_factory) as session:
        iteration = session.scalars(select(Iteration)).one()
        assert iteration.metrics["seeded"] == {"packed_cells": 2, "frames": 6}
        frames = session.scalars(select(Frame).order_by(Frame.id)).all()
        assert [f.split_group for f in frames] == ["initial-cell-0"] * 3 + ["initial-cell-1"] * 3
        assert all(f.status == FrameStatus.SELECTED for f in frames)
        reasons = [str(f.selection_reason) for f in frames]
        assert reasons[0] == "initial cell 0, relaxation step 0" and reasons[3].startswith(
            "initial cell 1, relaxation step 0"
        )
        labels = {x.frame_id: x for x in session.scalars(select(Label))}
        assert len(labels) == 6 and {x.provenance for x in labels.values()} == {
            LabelProvenance.CP2K
        }
        for cell in (frames[:3], frames[3:]):
            # the cells differ (own packmol seeds) and CP2K's LBFGS lowered each one's energy,
            # as its own labels, computed again by the label units, say
            energies = [float(labels[f.id].energy_eV or "nan") for f in cell]
            assert energies[-1] < energies[0], energies
        assert frames[0].structure != frames[3].structure
        versions = session.scalars(select(ModelVersion)).all()
        assert len(versions) == 2 and {v.strategy for v in versions} == {"from_scratch"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_foundation_baseline_is_evaluated_and_validated_untrained(
    session_factory: sessionmaker[Session], demo_home: Path, tmp_path: Path
) -> None:
    settings = WorkerSettings(home=demo_home, artifact_dir=tmp_path / "artifacts", device="cpu")
    spec = small_campaign(
        **{
            "model.strategy": "foundation",
            "model.committee_size": 1,
            "model.training.external_test_set": "models/demo-foundation-data.extxyz",
            "validation": SHORT_VALIDATION,
        }
    )
    with transaction(session_factory) as session:
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(spec)).id
        repo.control(campaign_id, "start")
    drain(session_factory, settings, campaign_id)
    campaign, errors = _status(session_factory, campaign_id)
    assert campaign.status == CampaignStatus.COMPLETED, (campaign.status_reason, errors)
    assert "foundation baseline evaluated and validated" in str(campaign.status_reason)
    with transaction(session_factory) as session:
        version = session.scalars(select(ModelVersion)).one()
        foundation = demo_home / "models" / "demo-foundation.model"
        assert (version.strategy, Path(str(version.file_path))) == ("foundation", foundation)
        external = version.metrics["errors"]["external"]
        assert external["frames"] == 6 and external["forces_rmse_meV_per_A"] > 0
        iteration = session.scalars(select(Iteration)).one()
        evaluation = iteration.metrics["evaluation"]
        assert evaluation["external_forces_rmse_meV_per_A"] == external["forces_rmse_meV_per_A"]
        assert session.scalars(select(Validation)).one().status == "done"
        assert session.scalars(select(Label)).all() == []  # no DFT spent on a baseline


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_walkers_start_from_uploaded_structures(
    session_factory: sessionmaker[Session], demo_home: Path, tmp_path: Path
) -> None:
    from ase import Atoms
    from ase.io import write

    from wise_al.db.models import WalkerRun
    from wise_al.jobs.explore import explore_walker

    settings = WorkerSettings(home=demo_home, artifact_dir=tmp_path / "artifacts", device="cpu")
    frames = read(demo_home / "models" / "demo-foundation-data.extxyz", index=":2")
    assert isinstance(frames, list)
    cells = tmp_path / "cells.extxyz"
    write(cells, [Atoms(a.numbers, a.positions, cell=a.cell, pbc=a.pbc) for a in frames])
    spec = small_campaign(
        **{
            "system.walkers": [{"temperature_K": 300.0, "replicas": 2}],
            "exploration.start": "structures",
            "exploration.start_structures": "equilibrated",
        }
    )
    with transaction(session_factory) as session:
        with cells.open("rb") as handle:
            store_dataset(
                session, settings, DatasetSpec(name="equilibrated", kind="structures"), handle
            )
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(spec)).id
        repo.control(campaign_id, "start")
    for walker in (0, 1):
        explore_walker(session_factory, settings, campaign_id, 0, walker)
    with transaction(session_factory) as session:
        runs = session.scalars(select(WalkerRun).order_by(WalkerRun.walker_index)).all()
        for run, given in zip(runs, frames, strict=True):
            walked = read(str(run.trajectory_path), index=0)
            assert isinstance(walked, Atoms)
            # walker k starts from uploaded frame k: its cell and atoms, not a packed cell
            assert run.conditions["start"]["origin"] == "uploaded start structure"
            assert walked.get_chemical_symbols() == given.get_chemical_symbols()
            assert walked.cell.array.tolist() == given.cell.array.tolist()
            assert abs(walked.positions - given.positions).max() < 0.5  # 5 MD steps on
