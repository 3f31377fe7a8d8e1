"""Label one frame with CP2K, and the isolated-atom energies training needs."""

from __future__ import annotations

import json

from ase import Atoms
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
    """
    from wise_al.cp2k.label import make_labeller

    spec = _spec(sessions, campaign_id)
    with transaction(sessions) as session:
        atoms = structure_from_dict(session.get_one(Frame, frame_id).structure)
    result = make_labeller(settings, spec.labelling).label(atoms)
    with transaction(sessions) as session:
        LabelRepository(session).record(frame_id, result)


def system_level_sha256(settings: WorkerSettings, spec: CampaignSpec) -> str:
    """Hash of the campaign's level of theory over every element of its system."""
    from wise_al.cp2k.label import make_labeller

    labeller = make_labeller(settings, spec.labelling)
    return labeller.level(Atoms(sorted(spec.system.elements())))[1]


def compute_e0s(
    sessions: sessionmaker[Session], settings: WorkerSettings, campaign_id: int
) -> None:
    """Isolated-atom energies of the system's elements, stored once per level of theory."""
    from wise_al.cp2k.label import make_labeller
    from wise_al.mace.e0s import reference_energies

    spec = _spec(sessions, campaign_id)
    target = e0s_file(settings, system_level_sha256(settings, spec))
    if target.exists():
        return
    e0s = reference_energies(make_labeller(settings, spec.labelling), spec.system.elements())
    write_text_atomic(target, json.dumps({str(z): e for z, e in sorted(e0s.items())}, indent=1))


def load_e0s(settings: WorkerSettings, spec: CampaignSpec) -> dict[int, float]:
    """The stored isolated-atom energies of a campaign's level of theory."""
    target = e0s_file(settings, system_level_sha256(settings, spec))
    return {int(z): float(e) for z, e in json.loads(target.read_text()).items()}
