"""wise-al: active learning of MACE potentials for water-in-salt electrolytes."""

__version__ = "0.1.0"
