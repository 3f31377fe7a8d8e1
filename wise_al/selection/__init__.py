"""Which explored frames go to DFT: window ∪ flagged -> dedupe -> diversity -> budget."""

from wise_al.selection.base import Candidate, Decision
from wise_al.selection.pipeline import select_frames

__all__ = ["Candidate", "Decision", "select_frames"]
