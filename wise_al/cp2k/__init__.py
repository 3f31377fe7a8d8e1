"""CP2K: input generation, runs, output parsing and SCF rescue, kept apart."""
