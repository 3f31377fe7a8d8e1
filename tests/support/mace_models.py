"""Tiny real MACE committees for tests, trained in seconds on recorded xTB labels.

The labels (Li+ + 3-4 H2O clusters, GFN1-xTB in CP2K) are recorded in
tests/data/li_water_xtb.extxyz by tests/data/make_li_water_clusters.py. Members differ by
their training seed, so they disagree like a real committee does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "li_water_xtb.extxyz"
#: Periodic water cells, compressed and expanded, with xTB stresses (make_water_stress_xtb.py).
STRESS_DATA = DATA.with_name("water_stress_xtb.extxyz")

#: The environment.md recipe: ScaleShiftMACE, 16 channels, L=0, 2 interactions.
TINY_MACE = [
    "--model=ScaleShiftMACE",
    "--num_channels=16",
    "--max_L=0",
    "--r_max=4.0",
    "--num_interactions=2",
    "--correlation=2",
    "--energy_weight=10",
    "--forces_weight=10",
    "--batch_size=8",
    "--device=cpu",
    "--default_dtype=float64",
    "--energy_key=REF_energy",
    "--forces_key=REF_forces",
    "--valid_fraction=0.2",
]


def train_tiny_member(
    work_dir: Path,
    seed: int,
    epochs: int = 10,
    e0s: str = "average",
    elements: str | None = None,
    extra: tuple[str, ...] = (),
) -> Path:
    """Train one member with ``mace_run_train``; returns its model file.

    ``elements`` (e.g. ``"[1, 3, 6, 7, 8, 9, 16]"``, with ``e0s`` a dict covering them) makes
    a model that accepts elements absent from the data: fine for timing, not for physics.
    ``extra`` adds mace arguments (e.g. ``--pair_repulsion``).
    """
    name = f"member{seed}"
    command = [
        sys.executable,
        "-m",
        "mace.cli.run_train",
        f"--name={name}",
        f"--train_file={DATA}",
        f"--seed={seed}",
        f"--max_num_epochs={epochs}",
        f"--work_dir={work_dir}",
        f"--E0s={e0s}",
        *TINY_MACE,
        *extra,
    ]
    if elements:
        command.append(f"--atomic_numbers={elements}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    model = work_dir / f"{name}.model"
    if result.returncode != 0 or not model.exists():
        raise RuntimeError(f"training member {seed} failed:\n{result.stderr[-2000:]}")
    return model


#: Every WiSE element (H Li C N O F S) with made-up E0s: models for timing, not physics.
ALL_ELEMENTS = "[1, 3, 6, 7, 8, 9, 16]"
TIMING_E0S = "{1: -10.0, 3: -5.0, 6: -40.0, 7: -60.0, 8: -90.0, 9: -120.0, 16: -80.0}"


def timing_members(work_dir: Path, members: int) -> list[Path]:
    """``members`` tiny models (one epoch) that accept every WiSE element: for benchmarks,
    whose timings do not depend on accuracy."""
    return [
        train_tiny_member(work_dir, seed, epochs=1, e0s=TIMING_E0S, elements=ALL_ELEMENTS)
        for seed in range(members)
    ]
