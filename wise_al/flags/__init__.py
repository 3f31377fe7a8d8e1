"""Physics flags: one module per kind, a registry, one checker that runs them all."""

from wise_al.flags.base import Flag
from wise_al.flags.checker import FlagChecker

__all__ = ["Flag", "FlagChecker"]
