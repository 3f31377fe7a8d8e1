"""Fit a committee: dataset, members by seed (optionally bootstrapped), errors, a manifest.

The manifest (``committee.json``) is what a model version records: each member's file and
hash, log, seed, parent, the dataset hash, the E0s and the errors on valid and test frames.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.io import read

from wise_al.atomic_files import write_text_atomic
from wise_al.campaign_spec.model import Strategy, TrainingSpec
from wise_al.errors import WiseAlError
from wise_al.mace.datasets import Dataset, bootstrap, write_dataset
from wise_al.mace.training import MemberJob, TrainedMember, effective_training, train_committee

MANIFEST_NAME = "committee.json"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def member_device(device: str, member: int) -> str:
    """Spread members over a worker's GPUs (``cuda`` -> ``cuda:0``, ``cuda:1`` ...)."""
    if device != "cuda":
        return device
    import torch

    count = torch.cuda.device_count()
    return f"cuda:{member % count}" if count > 1 else device


@dataclass(frozen=True)
class FittedCommittee:
    """Where the members are and what the fit recorded."""

    model_files: list[Path]
    manifest: dict[str, Any]
    manifest_file: Path


#: Force components kept in a parity file: enough to see the cloud, small enough to plot.
PARITY_MAX_FORCE_COMPONENTS = 3000


def held_out_errors(
    model_file: Path, held_out: dict[str, Path], device: str, parity_file: Path
) -> dict[str, Any]:
    """Errors of one model per held-out split; the last split's parity pairs go to
    ``parity_file``.
    """
    from wise_al.mace.evaluate import evaluate  # torch: only once there is a model

    errors: dict[str, Any] = {}
    for split, path in held_out.items():
        if path.is_file():
            frames = read(path, index=":")
            assert isinstance(frames, list)
            split_errors, parity = evaluate(model_file, frames, device)
            errors[split] = split_errors.to_dict()
            stride = max(1, -(-len(parity.forces_ref) // PARITY_MAX_FORCE_COMPONENTS))
            pairs = {
                "split": split,
                "energy_ref_eV_per_atom": parity.energy_ref.tolist(),
                "energy_pred_eV_per_atom": parity.energy_pred.tolist(),
                "forces_ref_eV_per_A": parity.forces_ref[::stride].tolist(),
                "forces_pred_eV_per_A": parity.forces_pred[::stride].tolist(),
            }
            write_text_atomic(parity_file, json.dumps(pairs))
    return errors


def _errors(
    member: TrainedMember, dataset: Dataset, device: str, external: Path | None
) -> dict[str, Any]:
    """A trained member's errors on its valid and test splits and the external test set."""
    assert member.model_file is not None
    held_out: dict[str, Path] = {
        split: dataset.files[split] for split in ("valid", "test") if split in dataset.files
    }
    if external is not None:
        held_out["external"] = external
    return held_out_errors(
        member.model_file, held_out, device, member.model_file.parent / "parity.json"
    )


def foundation_record(
    foundation: Path, external_test: Path | None, device: str, work_dir: Path
) -> dict[str, Any]:
    """The record of a foundation taken as it is (strategy ``foundation``): no training.

    It is scored on the external test set only: it has no training set to hold out from.
    Its energies keep the foundation's own reference (e.g. PBE for MACE-MP), so against
    labels at another level the energy error holds a constant per-atom offset; the force
    error is the comparable number.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    parity = work_dir / "parity.json"
    held_out = {"external": external_test} if external_test is not None else {}
    return {
        "file": str(foundation),
        "sha256": file_sha256(foundation),
        "log": None,
        "seed": None,
        "diversity": None,
        "training_run": None,
        "mace_arguments": [],
        "excluded_labels": [],
        "errors": held_out_errors(foundation, held_out, device, parity),
        "parity": str(parity) if parity.exists() else None,
    }


def member_job(
    member: int,
    dataset: Dataset,
    strategy: Strategy,
    training: TrainingSpec,
    e0s: dict[int, float],
    work_dir: Path,
    foundation: Path | None = None,
    replay_file: Path | None = None,
    device: str = "cpu",
) -> MemberJob:
    """The training job of committee member ``member``: its seed, optionally resampled data."""
    seed = training.seed + member
    train_file = None
    if effective_training(strategy, training, dataset.stress_frames)["bootstrap"]:
        train_file = bootstrap(dataset.files["train"], seed, work_dir / f"train-{member}.extxyz")
    return MemberJob(
        name=f"member{member}",
        seed=seed,
        strategy=strategy,
        dataset=dataset,
        e0s=e0s,
        training=training,
        work_dir=work_dir / f"member{member}",
        foundation=foundation,
        replay_file=replay_file,
        train_file=train_file,
        device=member_device(device, member),
        member=member,
    )


def member_record(
    member: TrainedMember, dataset: Dataset, device: str, external_test: Path | None = None
) -> dict[str, Any]:
    """What the manifest (and a model version row) keeps of a trained member.

    ``external_test`` (checked by :func:`~wise_al.mace.datasets.check_external_test`) is
    scored as the ``external`` split.
    """
    assert member.model_file is not None
    errors = _errors(member, dataset, device, external_test)
    parity = member.model_file.parent / "parity.json"
    job = member.job
    return {
        "file": str(member.model_file),
        "sha256": file_sha256(member.model_file),
        "log": str(member.log_file),
        "seed": job.seed,
        # what made this member differ from the others, and what mace really trained with
        "diversity": {
            "seed": job.seed,
            "bootstrap": job.train_file is not None,
            "learning_rate_factor": job.training.member_lr_factor**job.member,
        },
        "training_run": effective_training(
            job.strategy, job.training, dataset.stress_frames, job.member
        ),
        "mace_arguments": list(member.arguments),
        "excluded_labels": list(dataset.excluded),
        "errors": errors,
        "parity": str(parity) if parity.exists() else None,
    }


def fit_committee(
    frames: Sequence[Atoms],
    strategy: Strategy,
    committee_size: int,
    training: TrainingSpec,
    e0s: dict[int, float],
    work_dir: Path,
    foundation: Path | None = None,
    replay_file: Path | None = None,
    level_sha256: str | None = None,
    parallel: int = 1,
    device: str = "cpu",
    on_member: Callable[[TrainedMember], None] | None = None,
) -> FittedCommittee:
    """Train ``committee_size`` members on ``frames`` and record them.

    Raises
    ------
    WiseAlError
        Bad data (see :func:`~wise_al.mace.datasets.write_dataset`) or a member that failed
        to train (its log is named).
    """
    t = training
    dataset = write_dataset(
        frames,
        work_dir / "data",
        t.valid_fraction,
        t.test_fraction,
        level_sha256,
        max_force_eV_per_A=t.max_label_force_eV_per_A,
        energy_outlier_mads=t.energy_outlier_mads,
    )
    jobs = [
        member_job(m, dataset, strategy, t, e0s, work_dir, foundation, replay_file, device)
        for m in range(committee_size)
    ]
    trained = train_committee(jobs, parallel, on_member)
    failed = [m for m in trained if m.model_file is None]
    if failed:
        raise WiseAlError(
            f"{len(failed)} of {len(trained)} members failed to train; see {failed[0].log_file}"
        )
    manifest = {
        "strategy": strategy,
        "parent": {"file": str(foundation), "sha256": file_sha256(foundation)}
        if foundation
        else None,
        "dataset": {
            "sha256": dataset.sha256,
            "counts": dataset.counts,
            "level_sha256": dataset.level_sha256,
            "excluded": list(dataset.excluded),
        },
        "e0s_eV": {str(z): e for z, e in sorted(e0s.items())},
        "training": t.model_dump(),
        "members": [member_record(m, dataset, device) for m in trained],
    }
    manifest_file = work_dir / MANIFEST_NAME
    write_text_atomic(manifest_file, json.dumps(manifest, indent=1))
    return FittedCommittee([m.model_file for m in trained if m.model_file], manifest, manifest_file)
