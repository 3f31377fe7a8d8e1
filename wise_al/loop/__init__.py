"""The active-learning loop as a pure state machine: ``advance(snapshot, spec)``."""

from wise_al.loop.advance import advance, first_phase
from wise_al.loop.state import CampaignStatus, Command, Phase, Snapshot, Transition, Unit

__all__ = [
    "CampaignStatus",
    "Command",
    "Phase",
    "Snapshot",
    "Transition",
    "Unit",
    "advance",
    "first_phase",
]
