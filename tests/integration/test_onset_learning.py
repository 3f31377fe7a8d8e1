"""A potential that fuses Li⁺ in its validation MD: the loop labels the frames leading into
the contact in the next iteration, and grades nothing of the broken run.

The potential is the demo foundation (a real MACE model) with a deliberate Li–Li pull
(tests/support/fusing_model.py): the failure the paper found, on demand. The validation,
selection and labelling are the loop's own jobs on SQLite, with CP2K's xTB labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ase.io import read
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.fusing_model import fusing_model
from tests.support.loop_fixtures import small_campaign
from wise_al.campaign_spec import parse_spec
from wise_al.db.engine import transaction
from wise_al.db.models import (
    Frame,
    FrameSource,
    FrameStatus,
    Iteration,
    Label,
    ModelVersion,
    Phase,
    RunStatus,
    Validation,
)
from wise_al.db.repositories import CampaignRepository
from wise_al.jobs.label import label_frame
from wise_al.jobs.select import select_iteration
from wise_al.jobs.validate import validate_iteration
from wise_al.settings import WorkerSettings
from wise_al.systems.structures import structure_from_dict

pytestmark = [needs_cp2k, pytest.mark.slow]

#: The members pull Li⁺ pairs together with these constant forces (eV/Å): they disagree
#: most where the pull matters, as a committee of wrong models does.
PULLS_EV_PER_A = (0.6, 0.4)


def _li_li_A(atoms_dict: dict[str, Any]) -> float:
    atoms = structure_from_dict(atoms_dict)
    li = [a.index for a in atoms if a.symbol == "Li"]
    return float(atoms.get_distance(li[0], li[1], mic=True))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_potential_that_fuses_li_gets_its_onset_frames_labelled_next_iteration(
    session_factory: sessionmaker[Session], demo_home: Path, tmp_path: Path
) -> None:
    settings = WorkerSettings(home=demo_home, artifact_dir=tmp_path / "artifacts", device="cpu")
    foundation = demo_home / "models" / "demo-foundation.model"
    members = [
        fusing_model(foundation, tmp_path / f"fusing-{k}.model", pull)
        for k, pull in enumerate(PULLS_EV_PER_A)
    ]
    spec = small_campaign(
        **{
            "validation": {
                "enabled": True,
                "equilibration_steps": 20,
                "steps": 300,
                "save_interval_steps": 10,
                "checkpoint_interval_steps": 100,
                "device": "cpu",
            },
            # the Li⁺ contact is the failure under test: no other rule may end the run first
            "flags.bond_integrity.enabled": False,
            "flags.max_temperature_factor": 100.0,
            "selection.budget_per_iteration": 4,
            "selection.onset_frames": 3,
        }
    )
    with transaction(session_factory) as session:
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(spec)).id
        repo.control(campaign_id, "start")
        # iteration 0 trained this committee (as its train units would record it)
        for k, path in enumerate(members):
            session.add(
                ModelVersion(
                    campaign_id=campaign_id,
                    iteration_index=0,
                    member_index=k,
                    strategy="fine_tune_naive",
                    status=RunStatus.DONE,
                    file_path=str(path),
                )
            )
    validate_iteration(session_factory, settings, campaign_id, 0)
    with transaction(session_factory) as session:
        validation = session.scalars(select(Validation)).one()
        broke = validation.observables["broke_at_step"]
        trajectory_path = str(validation.trajectory_path)
        assert "Li" in validation.observables["broke_because"]
        # the broken run is not graded: every score says where it broke
        assert {s["grade"] for s in validation.scores} == {"not graded"}
        assert all(f"broke at step {broke}" in s["reason"] for s in validation.scores)
        # the start was intact: the committee's relaxation fused the pair and was refused
        start = validation.parameters["start"]
        assert start["origin"].startswith("packed (seed 0)")
        stored = session.scalars(select(Frame).where(Frame.validation_id == validation.id)).all()
        assert stored and all(f.source == FrameSource.VALIDATION for f in stored)
        stored_count = len(stored)
        # production frames keep their trajectory's steps (equilibration counts before 0)
        onset = [f for f in stored if f.onset_of_step == broke]
        assert len(onset) == 4 and max(f.md_step for f in onset) == broke
        # nothing after the break is a candidate: its collapsed forces teach nothing
        assert max(f.md_step for f in stored) == broke
        # the loop's DECIDE step opens iteration 1 (here by hand: no walker runs in it)
        session.add(Iteration(campaign_id=campaign_id, index=1, phase=Phase.SELECT))
    trajectory = read(trajectory_path, ":")
    assert isinstance(trajectory, list)
    lithium = [a.index for a in trajectory[0] if a.symbol == "Li"]
    distances = [float(a.get_distance(lithium[0], lithium[1], mic=True)) for a in trajectory]
    steps = [int(a.info["step"]) for a in trajectory]
    # independently of the flags: the run broke where Li–Li first fell under 2.6 Å
    assert broke == steps[int(np.argmax(np.array(distances) < 2.6))]
    select_iteration(session_factory, settings, campaign_id, 1)
    with transaction(session_factory) as session:
        iteration = session.scalars(select(Iteration).where(Iteration.index == 1)).one()
        assert iteration.metrics["validation_candidates"] == stored_count
        chosen = session.scalars(select(Frame).where(Frame.status == FrameStatus.SELECTED)).all()
        assert len(chosen) == 4 and all(f.onset_of_step is not None for f in chosen)
        assert all(f.iteration_id == iteration.id for f in chosen)
        assert all("onset of the validation break" in str(f.selection_reason) for f in chosen)
        assert iteration.metrics["selected_onset"] == 4
        before = {f.id: _li_li_A(f.structure) for f in chosen}
    # iteration 2 explores with another committee: iteration 0's leftovers are not offered
    with transaction(session_factory) as session:
        session.add(Iteration(campaign_id=campaign_id, index=2, phase=Phase.SELECT))
    select_iteration(session_factory, settings, campaign_id, 2)
    with transaction(session_factory) as session:
        third = session.scalars(select(Iteration).where(Iteration.index == 2)).one()
        assert third.metrics["validation_candidates"] == 0 and third.metrics["selected"] == 0
        assert not session.scalars(select(Frame).where(Frame.iteration_id == third.id)).all()
    # the frames leading into the contact: closing in, the last under 2.6 Å, none fused
    assert min(before.values()) < 2.6 < max(before.values())
    assert min(before.values()) > 1.5
    for frame_id in before:
        label_frame(session_factory, settings, campaign_id, frame_id)
    with transaction(session_factory) as session:
        labels = session.scalars(select(Label)).all()
        assert len(labels) == 4 and all(x.status == RunStatus.DONE for x in labels)
        # xTB pushes the close pair apart where the potential pulled it together
        for label in labels:
            frame = session.get_one(Frame, label.frame_id)
            atoms = structure_from_dict(frame.structure)
            li = [a.index for a in atoms if a.symbol == "Li"]
            forces = np.asarray(label.forces_eV_per_A)
            bond = atoms.get_distance(li[0], li[1], mic=True, vector=True)
            push = float(np.dot(forces[li[1]] - forces[li[0]], bond / np.linalg.norm(bond)))
            if _li_li_A(frame.structure) < 2.6:
                assert push > 0, push
