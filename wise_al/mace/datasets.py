"""Training data files: train / valid / test extxyz of labelled frames of one level of theory.

A frame's split is decided by a hash, not by its position in the list: adding labels never
moves an old frame to another split, so the test frames of a campaign stay the same across
iterations and their errors are comparable. Frames explored by a walker carry a split group
(``info["split_group"]``: the walker run, or a contiguous block of its trajectory), and the
hash is of that group: frames 5 fs apart of one walker never sit in train and test at once,
which would make test errors look better than they are. Frames without a group (imported
data) are split by the hash of their structure.
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

from wise_al.errors import WiseAlError
from wise_al.mace.outliers import label_outliers
from wise_al.systems.labelled import LABEL_ID_KEY, SPLIT_GROUP_KEY, structure_sha256
from wise_al.systems.levels import single_level

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
    excluded
        Frames left out as outliers: ``{"frame": index, "label_id": id or None, "reason"}``.
    """

    files: dict[str, Path]
    counts: dict[str, int]
    sha256: str
    level_sha256: str | None
    stress_frames: int = 0
    excluded: tuple[dict[str, Any], ...] = ()


def split_group(
    walker_run_id: int, md_step: int, timestep_fs: float, block_fs: float | None = None
) -> str:
    """The walker run a frame comes from, or the contiguous block of ``block_fs`` in it."""
    if block_fs is None:
        return f"walker-run-{walker_run_id}"
    return f"walker-run-{walker_run_id}/block-{int(md_step * timestep_fs // block_fs)}"


def split_position(atoms: Atoms) -> float:
    """A number in [0, 1) fixed by the frame's split group, or by its structure."""
    group = atoms.info.get(SPLIT_GROUP_KEY)
    digest = hashlib.sha256(str(group).encode()).hexdigest() if group else structure_sha256(atoms)
    return int(digest[:13], 16) / 16**13


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
    *,
    max_force_eV_per_A: float | None = None,
    energy_outlier_mads: float | None = None,
) -> Dataset:
    """Split labelled frames and write ``train.extxyz``, ``valid.extxyz``, ``test.extxyz``.

    Frames of another level of theory than ``level_sha256`` (or than the only one present)
    are left out; several levels with none chosen is an error. Outlier labels
    (:func:`wise_al.mace.outliers.label_outliers`) are left out of every split, with the
    reason in :attr:`Dataset.excluded`.

    Raises
    ------
    WiseAlError
        Frames without labels, non-finite labels, mixed levels, or too few frames to train.
    """
    level = _check(frames, level_sha256)
    at_level = [a for a in frames if level is None or a.info.get(LEVEL_KEY) == level]
    outliers = label_outliers(at_level, max_force_eV_per_A, energy_outlier_mads)
    excluded = tuple(
        {"frame": k, LABEL_ID_KEY: at_level[k].info.get(LABEL_ID_KEY), "reason": reason}
        for k, reason in sorted(outliers.items())
    )
    kept = [a for k, a in enumerate(at_level) if k not in outliers]
    splits: dict[str, list[Atoms]] = {name: [] for name in SPLITS}
    for atoms in kept:
        splits[split_of(atoms, valid_fraction, test_fraction)].append(atoms)
    if not splits["train"]:
        # one walker run so far (a first iteration) may fall in a held-out split as a whole:
        # with nothing else to train on it is trained on; every iteration retrains from the
        # foundation, so no later committee has seen its later test frames
        splits = {"train": splits["valid"] + splits["test"], "valid": [], "test": []}
    if not splits["valid"] and len(splits["train"]) > 1:
        # tiny sets: validation needs one frame; take the train frame nearest the boundary
        first = min(splits["train"], key=split_position)
        splits["train"] = [a for a in splits["train"] if a is not first]
        splits["valid"] = [first]
    elif not splits["valid"] and splits["train"]:
        # a single labelled frame: mace needs a validation set; it validates on itself
        splits["valid"] = list(splits["train"])
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
    return Dataset(files, counts, digest.hexdigest(), level, stress_frames, excluded)


def check_external_test(path: Path, level_sha256: str | None) -> Path:
    """An external test set that can be scored: labelled, finite, at the labels' level.

    Frames that record their level (``REF_level_sha256``) must be at ``level_sha256``;
    frames that do not are taken at the user's word (the spec says they are at the level).

    Raises
    ------
    WiseAlError
        Naming the file, the frame and what is wrong with it.
    """
    from ase.io import read

    if not path.is_file():
        raise WiseAlError(f"training.external_test_set: {path} does not exist")
    try:
        frames = read(path, index=":")
    except Exception as exc:  # ASE raises many types for a malformed file
        raise WiseAlError(
            f"training.external_test_set: {path.name} is not extxyz ({exc})"
        ) from None
    assert isinstance(frames, list)
    if not frames:
        raise WiseAlError(f"training.external_test_set: {path.name} holds no frame")
    try:
        _check(frames, None)
    except WiseAlError as exc:
        raise WiseAlError(f"training.external_test_set: {path.name}: {exc}") from None
    for k, atoms in enumerate(frames):
        level = atoms.info.get(LEVEL_KEY)
        if level and level_sha256 and level != level_sha256:
            raise WiseAlError(
                f"training.external_test_set: {path.name} frame {k} is at level of theory "
                f"{str(level)[:12]}, the campaign's labels at {level_sha256[:12]}"
            )
    return path


def bootstrap(train_file: Path, seed: int, out: Path) -> Path:
    """A resample of the training frames with replacement (same size), for one member."""
    from ase.io import read

    frames = read(train_file, index=":")
    assert isinstance(frames, list)
    picks = np.random.default_rng(seed).integers(0, len(frames), len(frames))
    write(out, [frames[i] for i in picks], format="extxyz")
    return out
