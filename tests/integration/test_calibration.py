"""Calibration on real tiny MACE committees: copies are caught, real committees are measured.

The labels are the recorded xTB clusters; the committee's members are real models. A
committee of copies (or of near-copies, one member's weights nudged by 1e-6 relative)
agrees with itself almost exactly while its mean is as wrong as either member: it must be
reported under-dispersed. The independent check of the numbers is a direct NumPy
computation of the per-atom deviation and error from the members' raw forces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.io import read

from tests.support.mace_models import DATA
from wise_al.calibration import UNDER_DISPERSED_RATIO, Calibration, calibrate
from wise_al.mace.committee import Committee


def _near_copy(model: Path, out: Path, relative: float = 1e-6) -> Path:
    copy = torch.load(model, map_location="cpu", weights_only=False)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in copy.parameters():
            noise = torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype)
            parameter.mul_(1 + relative * noise)
    torch.save(copy, out)
    return out


def _frames() -> list[Atoms]:
    frames = read(DATA, ":16")
    assert isinstance(frames, list)
    return frames


def _calibration(models: list[Path]) -> Calibration:
    frames = _frames()
    prediction = Committee(models).predict(frames)
    truth = [np.asarray(a.arrays["REF_forces"]) for a in frames]
    return calibrate(prediction.forces_eV_per_A, truth, 0.05, 0.3)


def test_copies_and_near_copies_are_under_dispersed(
    tiny_committee_paths: list[Path], tmp_path: Path
) -> None:
    first = tiny_committee_paths[0]
    copies = _calibration([first, first])
    assert copies.under_dispersed and copies.dispersion_ratio == 0.0
    assert copies.slope is None or copies.slope > 1e6  # σ is rounding noise
    near = _calibration([first, _near_copy(first, tmp_path / "near.model")])
    assert near.under_dispersed
    assert near.dispersion_ratio is not None and near.slope is not None
    assert near.dispersion_ratio < UNDER_DISPERSED_RATIO / 100
    assert near.slope > 100  # σ would have to be scaled a lot to read as an error
    # the clusters are hard: the mean's error is large, and every such frame was "accurate"
    assert near.failed_truth > 0 and near.missed == near.failed_truth
    assert near.missed_share == 1.0


def test_a_real_committee_is_measured_as_numpy_says(
    tiny_committee_paths: list[Path], tmp_path: Path
) -> None:
    frames = _frames()
    forces = Committee(tiny_committee_paths).predict(frames).forces_eV_per_A
    result = _calibration(tiny_committee_paths)
    sigma = np.concatenate([np.sqrt(((f - f.mean(0)) ** 2).sum(-1).mean(0)) for f in forces])
    error = np.concatenate(
        [
            np.linalg.norm(f.mean(0) - a.arrays["REF_forces"], axis=1)
            for f, a in zip(forces, frames, strict=True)
        ]
    )
    assert result.atoms == sum(len(a) for a in frames) and result.frames == len(frames)
    assert result.dispersion_ratio == pytest.approx(np.median(sigma) / np.median(error))
    assert result.slope == pytest.approx(sigma @ error / (sigma @ sigma))
    assert result.rank_correlation is not None and -1 <= result.rank_correlation <= 1
    # members trained with different seeds disagree far more than a nudged copy does
    first = tiny_committee_paths[0]
    near = _calibration([first, _near_copy(first, tmp_path / "near.model")])
    assert result.dispersion_ratio is not None and near.dispersion_ratio is not None
    assert result.dispersion_ratio > 100 * near.dispersion_ratio
