"""Every query lives in a repository: one class per aggregate, given a session."""

from wise_al.db.repositories.base import Page, paginate
from wise_al.db.repositories.campaigns import CampaignRepository
from wise_al.db.repositories.datasets import DatasetRepository
from wise_al.db.repositories.frames import FrameFilter, FrameRepository
from wise_al.db.repositories.iterations import IterationRepository
from wise_al.db.repositories.labels import LabelRepository
from wise_al.db.repositories.models import ModelVersionRepository
from wise_al.db.repositories.overview import OverviewRepository
from wise_al.db.repositories.reference_energies import ReferenceEnergiesRepository
from wise_al.db.repositories.studies import StudyRepository
from wise_al.db.repositories.task_runs import TaskRunRepository
from wise_al.db.repositories.tokens import TokenRepository
from wise_al.db.repositories.validations import ValidationRepository
from wise_al.db.repositories.walkers import WalkerRunRepository

__all__ = [
    "CampaignRepository",
    "DatasetRepository",
    "FrameFilter",
    "FrameRepository",
    "IterationRepository",
    "LabelRepository",
    "ModelVersionRepository",
    "OverviewRepository",
    "Page",
    "ReferenceEnergiesRepository",
    "StudyRepository",
    "TaskRunRepository",
    "TokenRepository",
    "ValidationRepository",
    "WalkerRunRepository",
    "paginate",
]
