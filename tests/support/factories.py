"""Builders for tests: the example specs and variants of them, stand-in trajectories."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from ase import Atoms

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_spec(name: str = "demo") -> dict[str, Any]:
    """An example spec as decoded YAML (a fresh copy each call), without its external test
    set: the demo's is built by `make demo`, tests that score on one bring their own."""
    file = {"demo": "demo.yaml", "21m": "wise_21m_gpu.yaml"}[name]
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / file).read_text())
    data.get("model", {}).get("training", {}).pop("external_test_set", None)
    return copy.deepcopy(data)


def with_value(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``spec`` with the dotted ``path`` set to ``value`` (sections created)."""
    spec = copy.deepcopy(spec)
    *parents, leaf = path.split(".")
    node = spec
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return spec


# (dotted path, value, text the error must contain). Each is one way users get a spec wrong.
BAD_SPECS: list[tuple[str, Any, str]] = [
    ("system.unknown_field", 1, "system.unknown_field"),
    ("system.temperature_K", -10.0, "system.temperature_K"),
    ("system.walkers", [], "system.walkers"),
    ("system.composition", {"kind": "counts", "molecules": {"NaCl": 2}}, "NaCl"),
    ("system.composition", {"kind": "counts", "molecules": {"Li+": 1, "H2O": 5}}, "neutral"),
    ("system.composition", {"kind": "molality", "molality_mol_per_kg": 0}, "molality_mol_per_kg"),
    ("system.cell_A", [10.0, 10.0], "system.cell_A"),
    ("flags.min_distance_A", {"Xx-Li": 2.0}, "unknown element 'Xx'"),
    ("flags.min_distance_A", {"Na-Li": 2.0}, "Na, not in this system"),
    ("flags.min_distance_A", {"Li-Li": -1.0}, "flags.min_distance_A.Li-Li"),
    # above the example's trust_hi (3.0 eV/Å)
    ("uncertainty.trust_lo_eV_per_A", 5.0, "trust_lo_eV_per_A (5.0) must be below"),
    ("selection.budget_per_iteration", 0, "selection.budget_per_iteration"),
    ("labelling.functional", "B3LYP", "labelling.functional"),
    ("labelling.method", "mp2", "labelling.method"),
    ("labelling.cp2k_overrides", {"force_eval": {"dft": {"scf": {"max_scff": 5}}}}, "max_scff"),
    ("labelling.cp2k_overrides", {"force_eval": {"dft": {"scf": {"max_scf": "x"}}}}, "max_scf"),
    ("labelling.basis_per_element", {"Qq": "DZVP"}, "unknown element 'Qq'"),
    ("model.foundation", "gpt-5", "model.foundation"),
    ("model.committee_size", 1, "model.committee_size"),
    ("model.strategy", "transfer", "model.strategy"),
    ("exploration.timestep_fs", 0, "exploration.timestep_fs"),
    ("exploration.save_interval_steps", 100_000, "no frame would be saved"),
    ("exploration.device", "tpu", "exploration.device"),
    ("review.gate", "sometimes", "review.gate"),
    ("stopping.accurate_ratio_target", 1.5, "stopping.accurate_ratio_target"),
    ("schema_version", 2, "schema_version"),
    ("model.foundation", "/etc/evil.model", "relative to WISE_AL_HOME"),
    ("labelling.basis", "X\n@INCLUDE /etc/passwd", "labelling.basis"),
    ("description", "nul\x00byte", "description"),
]


def jiggled_frames(atoms: Atoms, count: int, sigma_A: float, seed: int = 0) -> list[Atoms]:
    """``count`` copies of ``atoms`` with Gaussian displacements (a stand-in trajectory for
    observables whose cost or bookkeeping, not dynamics, is under test)."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        frame = atoms.copy()
        frame.positions += rng.normal(0, sigma_A, frame.positions.shape)
        frames.append(frame)
    return frames


def spreading_frames(atoms: Atoms, count: int, sigma_A: float, seed: int = 0) -> list[Atoms]:
    """Like :func:`jiggled_frames`, but frame k is displaced by ``sigma_A * sqrt(k + 1)``:
    a mean squared displacement growing in time, so a diffusion coefficient is positive."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(count):
        frame = atoms.copy()
        frame.positions += rng.normal(0, sigma_A * (k + 1) ** 0.5, frame.positions.shape)
        frames.append(frame)
    return frames
