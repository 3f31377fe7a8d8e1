"""Molecules, WiSE cells and structure I/O."""
