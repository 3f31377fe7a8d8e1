"""Label one frame with CP2K, and the isolated-atom energies training needs."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session, sessionmaker

from wise_al.atomic_files import write_text_atomic
from wise_al.db.engine import transaction
from wise_al.db.models import Frame
from wise_al.db.repositories import CampaignRepository, LabelRepository
from wise_al.jobs.advance import campaign_spec
from wise_al.jobs.artifacts import e0s_file
from wise_al.settings import WorkerSettings
from wise_al.spec import CampaignSpec
from wise_al.systems.structures import structure_from_dict


def _spec(sessions: sessionmaker[Session], campaign_id: int) -> CampaignSpec:
    with transaction(sessions) as session:
        return campaign_spec(CampaignRepository(session).get(campaign_id))


def label_frame(
    sessions: sessionmaker[Session], settings: WorkerSettings, campaign_id: int, frame_id: int
) -> None:
    """Label a selected frame; a failed run is stored as a failed label with its class.

    CP2K's own result store makes a repeated task free: the same input returns the stored
    result without running again.

    Raises
    ------
    MixedLevelsError
        Before running CP2K, if this worker would label at another level of theory than the
        campaign's labels so far (another CP2K build, changed data files): the two could
        never share a training set.
    """
    from wise_al.cp2k.label import make_labeller
    from wise_al.cp2k.level import MixedLevelsError, level_difference

    spec = _spec(sessions, campaign_id)
    with transaction(sessions) as session:
        atoms = structure_from_dict(session.get_one(Frame, frame_id).structure)
        levels = LabelRepository(session).levels(campaign_id)
    labeller = make_labeller(settings, spec.labelling)
    record, level_sha = labeller.level(atoms)
    if levels and level_sha not in levels:
        raise MixedLevelsError(
            f"campaign {campaign_id} refuses a label at another level of theory than its "
            f"labels so far: {level_difference({**levels, level_sha: record})}"
        )
    result = labeller.label(atoms)
    with transaction(sessions) as session:
        LabelRepository(session).record(frame_id, result)


def compute_e0s(
    sessions: sessionmaker[Session], settings: WorkerSettings, campaign_id: int
) -> None:
    """Isolated-atom energies of the system's elements, written once per campaign.

    The CP2K runs behind them are cached by input in the label store, so campaigns at the
    same level of theory compute each atom only once.
    """
    from wise_al.cp2k.label import make_labeller
    from wise_al.mace.e0s import reference_energies

    target = e0s_file(settings, campaign_id)
    if target.exists():
        return
    spec = _spec(sessions, campaign_id)
    e0s = reference_energies(make_labeller(settings, spec.labelling), spec.system.elements())
    write_text_atomic(target, json.dumps({str(z): e for z, e in sorted(e0s.items())}, indent=1))


def load_e0s(settings: WorkerSettings, campaign_id: int) -> dict[int, float]:
    """A campaign's isolated-atom energies (eV per atomic number); no CP2K needed to read them."""
    target = e0s_file(settings, campaign_id)
    return {int(z): float(e) for z, e in json.loads(target.read_text()).items()}
