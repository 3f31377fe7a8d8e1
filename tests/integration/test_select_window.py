"""The select job reads the window as the spec says: σ scaled by the newest calibration's
slope, and an adaptive lower level that makes a target share of the frames candidates."""

from __future__ import annotations

from pathlib import Path

import pytest
from ase.build import molecule
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.loop_fixtures import small_campaign
from wise_al.campaign_spec import parse_spec
from wise_al.db.engine import transaction
from wise_al.db.models import Frame, FrameStatus, Iteration, Phase
from wise_al.db.repositories import CampaignRepository
from wise_al.jobs.select import select_iteration
from wise_al.settings import WorkerSettings
from wise_al.systems.structures import structure_to_dict

#: Raw max σ of iteration 1's twenty frames (eV/Å); the last calibration measured slope 2.
RAW_SIGMA = [0.01 * k for k in range(1, 21)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigma_is_scaled_and_the_lower_level_adapts(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    spec = small_campaign(
        **{
            "uncertainty.trust_lo_eV_per_A": 0.05,
            "uncertainty.trust_hi_eV_per_A": 0.30,
            "uncertainty.adaptive_candidate_share": 0.25,
            "selection.budget_per_iteration": 50,
            "selection.audit_frames": 0,
        }
    )
    water = molecule("H2O", vacuum=5.0)
    with transaction(session_factory) as session:
        repo = CampaignRepository(session)
        campaign_id = repo.create(parse_spec(spec)).id
        repo.control(campaign_id, "start")
        first = session.scalars(select(Iteration)).one()
        first.metrics = {"calibration": {"status": "done", "slope": 2.0}}
        second = Iteration(campaign_id=campaign_id, index=1, phase=Phase.SELECT)
        session.add(second)
        session.flush()
        for k, sigma in enumerate(RAW_SIGMA):
            session.add(
                Frame(
                    campaign_id=campaign_id,
                    iteration_id=second.id,
                    md_step=10 * k,
                    status=FrameStatus.CANDIDATE,
                    max_deviation_eV_per_A=sigma,
                    n_atoms=len(water),
                    structure=structure_to_dict(water),
                    descriptor=[float(k), 0.0],
                )
            )
    settings = WorkerSettings(artifact_dir=tmp_path / "artifacts", device="cpu")
    select_iteration(session_factory, settings, campaign_id, 1)
    with transaction(session_factory) as session:
        metrics = session.scalars(select(Iteration).where(Iteration.index == 1)).one().metrics
        frames = session.scalars(select(Frame).order_by(Frame.md_step)).all()
        reasons = [str(f.selection_reason) for f in frames]
        chosen = [round(f.max_deviation_eV_per_A or 0, 2) for f in frames if f.status == "selected"]
    assert metrics["sigma_scale"] == 2.0
    # scaled σ = 0.02 ... 0.40: 6 frames at or above 0.30 failed; round(0.25 x 20) = 5 of
    # the 14 below are candidates: the five highest, raw 0.10 ... 0.14 (scaled 0.20 ... 0.28)
    assert metrics["trust_lo_adapted_eV_per_A"] == pytest.approx(0.20)
    assert chosen == [0.10, 0.11, 0.12, 0.13, 0.14]
    assert "accurate: max deviation 0.180 < trust_lo 0.2 eV/Å" in reasons[8]
    assert "failed: max deviation 0.300 >= trust_hi 0.3 eV/Å" in reasons[14]
