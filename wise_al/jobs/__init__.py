"""Units of work: (sessions, ids, settings) in, rows persisted, what to run next out."""
