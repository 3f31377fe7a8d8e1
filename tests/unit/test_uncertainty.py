"""Committee metrics against a direct numpy computation, and the trust window."""

from __future__ import annotations

import numpy as np
import pytest

from wise_al.uncertainty import (
    FrameClass,
    atom_force_deviation,
    classify_deviation,
    frame_deviation,
)


def test_deviation_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(0)
    forces = rng.normal(size=(4, 10, 3))
    energies = rng.normal(size=4) * 0.5
    direct = np.array(
        [
            np.sqrt(
                np.mean([np.sum((forces[k, i] - forces[:, i].mean(axis=0)) ** 2) for k in range(4)])
            )
            for i in range(10)
        ]
    )
    result = frame_deviation(energies, forces)
    np.testing.assert_allclose(result.atom_eV_per_A, direct, rtol=1e-12)
    assert result.max_eV_per_A == pytest.approx(direct.max())
    assert result.mean_eV_per_A == pytest.approx(direct.mean())
    assert result.energy_std_eV_per_atom == pytest.approx(np.std(energies) / 10)


def test_identical_members_agree_perfectly_and_batches_work() -> None:
    forces = np.repeat(np.ones((1, 5, 7, 3)), 3, axis=0)  # (members, frames, atoms, 3)
    assert atom_force_deviation(forces).shape == (5, 7)
    assert np.all(atom_force_deviation(forces) == 0)


def test_one_member_is_not_a_committee() -> None:
    with pytest.raises(ValueError, match="at least 2 members"):
        atom_force_deviation(np.zeros((1, 3, 3)))


@pytest.mark.parametrize(
    ("max_dev", "expected"),
    [
        (0.01, FrameClass.ACCURATE),
        (0.05, FrameClass.CANDIDATE),  # trust_lo belongs to the window
        (0.149, FrameClass.CANDIDATE),
        (0.15, FrameClass.FAILED),
        (float("nan"), FrameClass.FAILED),
    ],
)
def test_trust_window(max_dev: float, expected: FrameClass) -> None:
    assert classify_deviation(max_dev, 0.05, 0.15) == expected
