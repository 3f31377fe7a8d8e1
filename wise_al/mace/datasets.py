"""Training data files: train / valid / test extxyz of labelled frames of one level of theory.

A frame's split is decided by the hash of its structure, not by its position in the list:
adding labels never moves an old frame to another split, so the test frames of a campaign
stay the same across iterations and their errors are comparable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io import write

from wise_al.cp2k.label import structure_sha256
from wise_al.cp2k.level import single_level
from wise_al.errors import WiseAlError

SPLITS = ("train", "valid", "test")
#: Keys a labelled frame must carry (mace's convention); stress is optional.
REQUIRED_KEYS = ("REF_energy", "REF_forces")
LEVEL_KEY = "REF_level_sha256"


@dataclass(frozen=True)
class Dataset:
    """Split files of one training set.

    Attributes
    ----------
    files
        Split name -> extxyz file (``test`` absent when no frame fell in it).
    counts
        Split name -> number of frames.
    sha256
        Hash of the files' contents: what a model version was trained on.
    level_sha256
        The labels' level of theory, when the frames record it.
    stress_frames
        Training frames whose labels carry a stress (periodic frames).
    """

    files: dict[str, Path]
    counts: dict[str, int]
    sha256: str
    level_sha256: str | None
    stress_frames: int = 0


def labelled_frame(
    atoms: Atoms,
    energy_eV: float,
    forces_eV_per_A: Any,
    stress_eV_per_A3: Any | None = None,
    level_sha256: str | None = None,
) -> Atoms:
    """A bare copy of ``atoms`` carrying a label under mace's ``REF_`` keys."""
    out = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    out.info["REF_energy"] = energy_eV
    out.arrays["REF_forces"] = np.array(forces_eV_per_A, dtype=float)
    if stress_eV_per_A3 is not None:
        out.info["REF_stress"] = np.array(stress_eV_per_A3, dtype=float).reshape(9)
    if level_sha256 is not None:
        out.info["REF_level_sha256"] = level_sha256
    return out


def split_position(atoms: Atoms) -> float:
    """A number in [0, 1) fixed by the frame's structure."""
    return int(structure_sha256(atoms)[:13], 16) / 16**13


def split_of(atoms: Atoms, valid_fraction: float, test_fraction: float) -> str:
    """``train``, ``valid`` or ``test`` for this frame, the same every time it is asked."""
    position = split_position(atoms)
    if position < test_fraction:
        return "test"
    return "valid" if position < test_fraction + valid_fraction else "train"


def _check(frames: Sequence[Atoms], level_sha256: str | None) -> str | None:
    for k, atoms in enumerate(frames):
        missing = [
            key for key in REQUIRED_KEYS if key not in atoms.info and key not in atoms.arrays
        ]
        if missing:
            raise WiseAlError(f"frame {k} has no {' or '.join(missing)}: not a labelled frame")
        forces = np.asarray(atoms.arrays.get("REF_forces", atoms.info.get("REF_forces")))
        if forces.shape != (len(atoms), 3) or not np.isfinite(forces).all():
            raise WiseAlError(f"frame {k}: REF_forces must be finite, one row of 3 per atom")
        if not np.isfinite(float(atoms.info["REF_energy"])):
            raise WiseAlError(f"frame {k}: REF_energy is not finite")
    levels = [str(a.info.get(LEVEL_KEY, "")) for a in frames]
    if not any(levels):
        return None
    if "" in levels and level_sha256 is None:
        raise WiseAlError("some frames record their level of theory and others do not")
    return single_level((lv for lv in levels if lv), chosen=level_sha256)


def write_dataset(
    frames: Sequence[Atoms],
    directory: Path,
    valid_fraction: float,
    test_fraction: float,
    level_sha256: str | None = None,
) -> Dataset:
    """Split labelled frames and write ``train.extxyz``, ``valid.extxyz``, ``test.extxyz``.

    Frames of another level of theory than ``level_sha256`` (or than the only one present)
    are left out; several levels with none chosen is an error.

    Raises
    ------
    WiseAlError
        Frames without labels, non-finite labels, mixed levels, or too few frames to train.
    """
    level = _check(frames, level_sha256)
    kept = [a for a in frames if level is None or a.info.get(LEVEL_KEY) == level]
    splits: dict[str, list[Atoms]] = {name: [] for name in SPLITS}
    for atoms in kept:
        splits[split_of(atoms, valid_fraction, test_fraction)].append(atoms)
    if not splits["valid"] and len(splits["train"]) > 1:
        # tiny sets: validation needs one frame; take the train frame nearest the boundary
        first = min(splits["train"], key=split_position)
        splits["train"] = [a for a in splits["train"] if a is not first]
        splits["valid"] = [first]
    if not splits["train"]:
        raise WiseAlError(f"{len(kept)} labelled frames leave none to train on")
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    files: dict[str, Path] = {}
    for name in SPLITS:
        if splits[name]:
            files[name] = directory / f"{name}.extxyz"
            write(files[name], splits[name], format="extxyz")
            digest.update(name.encode() + files[name].read_bytes())
    counts = {name: len(splits[name]) for name in SPLITS}
    stress_frames = sum("REF_stress" in atoms.info for atoms in splits["train"])
    return Dataset(files, counts, digest.hexdigest(), level, stress_frames)


def bootstrap(train_file: Path, seed: int, out: Path) -> Path:
    """A resample of the training frames with replacement (same size), for one member."""
    from ase.io import read

    frames = read(train_file, index=":")
    assert isinstance(frames, list)
    picks = np.random.default_rng(seed).integers(0, len(frames), len(frames))
    write(out, [frames[i] for i in picks], format="extxyz")
    return out
