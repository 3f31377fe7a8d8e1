"""Every query lives in a repository: one class per aggregate, given a session."""

from wise_al.db.repositories.campaigns import CampaignRepository, Page
from wise_al.db.repositories.frames import FrameFilter, FrameRepository
from wise_al.db.repositories.labels import LabelRepository
from wise_al.db.repositories.models import ModelVersionRepository
from wise_al.db.repositories.overview import OverviewRepository
from wise_al.db.repositories.tokens import TokenRepository

__all__ = [
    "CampaignRepository",
    "FrameFilter",
    "FrameRepository",
    "LabelRepository",
    "ModelVersionRepository",
    "OverviewRepository",
    "Page",
    "TokenRepository",
]
