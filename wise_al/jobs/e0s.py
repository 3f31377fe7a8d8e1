"""Isolated-atom reference energies of a campaign, once, at its level of theory."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from wise_al.db.engine import transaction
from wise_al.db.models import RunStatus
from wise_al.db.repositories import ReferenceEnergiesRepository
from wise_al.jobs.artifacts import legacy_e0s_file
from wise_al.jobs.unit import Sessions, UnitKind, spec_of
from wise_al.loop import Command, Unit
from wise_al.settings import WorkerSettings


def compute_e0s(sessions: Sessions, settings: WorkerSettings, campaign_id: int) -> None:
    """Isolated-atom energies of the system's elements, recorded once per campaign.

    The CP2K runs behind them are cached by input in the label store, so campaigns at the
    same level of theory compute each atom only once. A campaign that wrote them to
    ``e0s.json`` before they moved into the database is recorded from that file.
    """
    from wise_al.cp2k.e0s import reference_energies
    from wise_al.cp2k.label import make_labeller

    with transaction(sessions) as session:
        spec = spec_of(session, campaign_id)
    legacy = legacy_e0s_file(settings, campaign_id)
    if legacy.is_file():
        e0s = {int(z): float(e) for z, e in json.loads(legacy.read_text()).items()}
    else:
        labeller = make_labeller(settings, spec.labelling)
        e0s = reference_energies(labeller, spec.system.elements())
    with transaction(sessions) as session:
        ReferenceEnergiesRepository(session).record(campaign_id, e0s)


def _computed(session: Session, campaign_id: int, command: Command) -> bool:
    row = ReferenceEnergiesRepository(session).find(campaign_id)
    return row is not None and row.status == RunStatus.DONE


def _e0s_failed(session: Session, campaign_id: int, command: Command, error: str) -> None:
    ReferenceEnergiesRepository(session).record_failure(campaign_id, error)


#: The E0s of a campaign's elements (CP2K single points of isolated atoms), one per campaign.
E0S = UnitKind(
    Unit.E0S,
    lambda sessions, settings, campaign_id, c: compute_e0s(sessions, settings, campaign_id),
    _computed,
    _e0s_failed,
)
