"""MD walkers driven by a committee: observers, early stop, annotated trajectories."""
