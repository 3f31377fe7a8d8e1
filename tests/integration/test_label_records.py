"""Labels and model versions in the database on both backends."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.cp2k_fixtures import needs_cp2k, wrapper
from tests.support.factories import example_spec
from wise_al.campaign_spec import parse_spec
from wise_al.cp2k.label import Attempt, LabelResult
from wise_al.db.engine import transaction
from wise_al.db.models import Frame, FrameStatus, Iteration, Label, RunStatus
from wise_al.db.repositories import CampaignRepository, LabelRepository, ModelVersionRepository
from wise_al.jobs.label import label_frame
from wise_al.settings import WorkerSettings
from wise_al.systems.levels import MixedLevelsError

#: A frame's stored structure (structure_to_dict's keys): one Li+ in a periodic box.
LITHIUM = {
    "symbols": ["Li"],
    "positions_A": [[1.0, 1.0, 1.0]],
    "cell_A": [[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]],
    "pbc": [True, True, True],
}


def _frames(factory: sessionmaker[Session], count: int) -> tuple[int, list[int]]:
    with transaction(factory) as session:
        campaign = CampaignRepository(session).create(parse_spec(example_spec()))
        iteration = Iteration(campaign_id=campaign.id, index=0)
        session.add(iteration)
        session.flush()
        frames = [
            Frame(
                campaign_id=campaign.id,
                iteration_id=iteration.id,
                md_step=10 * k,
                status=FrameStatus.SELECTED,
                n_atoms=1,
                structure=LITHIUM,
            )
            for k in range(count)
        ]
        session.add_all(frames)
        session.flush()
        return campaign.id, [f.id for f in frames]


def _result(level: str, failure: str | None = None, energy: float = -1.0) -> LabelResult:
    attempt = Attempt("initial", "attempt-1", "ab" * 32, failure, 12, 1.5)
    result = LabelResult({"method": level}, level * 64, "/store/xy", failure, attempts=[attempt])
    if failure is None:
        result.energy_eV, result.forces_eV_per_A = energy, [[0.0, 0.0, 0.1]]
        result.input_sha256, result.scf_steps = attempt.input_sha256, 12
    return result


def test_a_failed_label_is_recorded_without_numbers_and_a_rerun_can_fix_it(
    session_factory: sessionmaker[Session],
) -> None:
    _, (frame,) = _frames(session_factory, 1)
    with transaction(session_factory) as session:
        failed = LabelRepository(session).record(frame, _result("a", "scf_not_converged"))
        assert failed.status == RunStatus.FAILED and failed.energy_eV is None
    with transaction(session_factory) as session:
        LabelRepository(session).record(frame, _result("a", energy=-2.0))
    with transaction(session_factory) as session:
        (label,) = session.scalars(select(Label)).all()
        assert label.status == RunStatus.DONE and label.energy_eV == -2.0
        assert label.attempt_log[0]["rung"] == "initial" and label.scf_steps == 12
        assert label.input_path == "/store/xy/attempt-1/label.inp"
        # a repeated task never overwrites a done label
        LabelRepository(session).record(frame, _result("a", energy=-3.0))
    with transaction(session_factory) as session:
        assert session.scalars(select(Label.energy_eV)).one() == -2.0


def test_training_labels_come_from_one_level_of_theory(
    session_factory: sessionmaker[Session],
) -> None:
    campaign, frames = _frames(session_factory, 3)
    with transaction(session_factory) as session:
        labels = LabelRepository(session)
        labels.record(frames[0], _result("a"))
        labels.record(frames[1], _result("b"))
        labels.record(frames[2], _result("a", "time_limit"))
    with transaction(session_factory) as session:
        labels = LabelRepository(session)
        with pytest.raises(MixedLevelsError, match="2 levels of theory") as refused:
            labels.for_training(campaign)
        # the message names both levels and what differs between them
        assert "a" * 12 in str(refused.value) and "b" * 12 in str(refused.value)
        assert "differ in method" in str(refused.value)
        assert set(labels.levels(campaign)) == {"a" * 64, "b" * 64}
        chosen = labels.for_training(campaign, level_sha256="a" * 64)
        assert [label.frame_id for label in chosen] == [frames[0]]  # the failed one is left out


def test_a_committee_is_recorded_once_per_iteration(
    session_factory: sessionmaker[Session],
) -> None:
    campaign, _ = _frames(session_factory, 0)
    manifest = {
        "strategy": "fine_tune_naive",
        "parent": {"file": "/m/f.model", "sha256": "f" * 64},
        "dataset": {"sha256": "d" * 64, "counts": {}, "level_sha256": "a" * 64},
        "e0s_eV": {"1": -10.9},
        "members": [
            {"file": f"/m/member{k}.model", "sha256": str(k) * 64, "log": "x.log", "seed": k,
             "errors": {"test": {"forces_rmse_meV_per_A": 50.0 + k}}}
            for k in range(2)
        ],
    }  # fmt: skip
    for _ in range(2):  # a repeated task records nothing new
        with transaction(session_factory) as session:
            ModelVersionRepository(session).record_committee(campaign, 0, manifest)
    with transaction(session_factory) as session:
        members = ModelVersionRepository(session).committee(campaign, 0)
        assert [m.member_index for m in members] == [0, 1]
        assert members[1].metrics["errors"]["test"]["forces_rmse_meV_per_A"] == 51.0
        assert members[0].training_set_sha256 == "d" * 64 and members[0].file_sha256 == "0" * 64


@needs_cp2k
def test_a_campaign_refuses_to_label_at_a_second_level_before_running_cp2k(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    campaign, (done, todo) = _frames(session_factory, 2)
    old = {"code": "CP2K", "code_version": "2022.2", "method": "GFN1-xTB", "eps_scf": 1e-6}
    with transaction(session_factory) as session:
        LabelRepository(session).record(done, replace(_result("a"), level_of_theory=old))
    marker = tmp_path / "ran"
    spy = wrapper(tmp_path, "spy-cp2k", f'touch {marker}; exec CP2K "$@"')
    settings = WorkerSettings(home=tmp_path, artifact_dir=tmp_path / "art", cp2k_binary=str(spy))
    with pytest.raises(MixedLevelsError) as refused:
        label_frame(session_factory, settings, campaign, todo)
    message = str(refused.value)
    assert f"campaign {campaign} refuses" in message and "a" * 12 in message
    assert "CP2K 2022.2 GFN1-xTB" in message and "CP2K 2023.1 GFN1-xTB" in message
    assert "code_version" in message
    assert not marker.exists()  # refused before any calculation
    with transaction(session_factory) as session:
        assert [label.frame_id for label in LabelRepository(session).of_frame(todo)] == []
