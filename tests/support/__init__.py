"""Helpers shared by the tests and the benchmarks (benchmarks import these, never tests)."""
