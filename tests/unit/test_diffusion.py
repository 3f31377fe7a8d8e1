"""Diffusion on Brownian walkers with known D, wrapped into a drifting periodic box."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from wise_al.observables.diffusion import (
    Diffusion,
    diffusion,
    mean_squared_displacement,
    order_matches_experiment,
    unwrapped_positions,
)

FRAME_FS = 100.0
SIDE_A = 12.0


def brownian(d_A2_per_ps: dict[str, float], frames: int, seed: int = 0) -> list[Atoms]:
    """Random walks with diffusion coefficient D per element, wrapped into the box, with a
    drift of the whole cell (which the analysis must remove) on top."""
    rng = np.random.default_rng(seed)
    symbols = [e for e in d_A2_per_ps for _ in range(60)]
    sigma = np.sqrt(2 * np.array([d_A2_per_ps[e] for e in symbols]) * FRAME_FS / 1000.0)
    steps = rng.normal(size=(frames, len(symbols), 3)) * sigma[None, :, None]
    steps -= steps.mean(axis=1, keepdims=True)  # the walkers' own centre stays put
    drift = np.array([0.05, -0.02, 0.03]) * np.arange(frames)[:, None]  # Å per frame
    paths = np.cumsum(steps, axis=0) + rng.uniform(0, SIDE_A, (1, len(symbols), 3))
    paths += drift[:, None, :]
    return [Atoms(symbols, positions=np.mod(p, SIDE_A), cell=[SIDE_A] * 3, pbc=True) for p in paths]


def test_unwrapping_follows_atoms_across_the_boundary() -> None:
    frames = [
        Atoms("Ar", positions=[[x, 1.0, 1.0]], cell=[SIDE_A] * 3, pbc=True)
        for x in (11.5, 11.9, 0.3, 0.7)
    ]
    path = unwrapped_positions(frames, remove_drift=False)[:, 0, 0]
    assert path == pytest.approx([11.5, 11.9, 12.3, 12.7])
    # a lone atom is the whole cell's centre of mass: without drift it stands still
    assert unwrapped_positions(frames)[:, 0, 0] == pytest.approx([11.5] * 4)


def test_fft_msd_matches_the_direct_sum() -> None:
    positions = np.random.default_rng(1).normal(size=(40, 5, 3)).cumsum(axis=0)
    direct = [
        np.mean([((positions[t + lag] - positions[t]) ** 2).sum(axis=1) for t in range(40 - lag)])
        for lag in range(40)
    ]
    assert mean_squared_displacement(positions) == pytest.approx(direct)


def test_known_diffusion_coefficients_are_recovered_in_order() -> None:
    truth = {"O": 0.23, "Li": 0.10, "N": 0.03}  # Å²/ps, the order of water, Li⁺ and TFSI⁻
    frames = brownian(truth, frames=400)
    species = {
        "H2O": lambda atoms: np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == "O"),
        "Li+": lambda atoms: np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == "Li"),
        "TFSI-": lambda atoms: np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == "N"),
    }
    found = diffusion(frames, FRAME_FS, species=species)
    for name, element in (("H2O", "O"), ("Li+", "Li"), ("TFSI-", "N")):
        d = found[name]
        assert d.d_A2_per_ps == pytest.approx(truth[element], rel=0.15)
        assert 0 < d.stderr_A2_per_ps < 0.2 * truth[element]
    assert order_matches_experiment(found)
    swapped = {**found, "Li+": found["H2O"], "H2O": found["Li+"]}
    assert not order_matches_experiment(swapped)


def test_too_short_a_run_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        diffusion(brownian({"Li": 0.1}, frames=5), FRAME_FS)


def test_a_result_holds_its_curve() -> None:
    frames = brownian({"Li": 0.1}, frames=40)
    found = diffusion(frames, FRAME_FS)
    assert set(found) == {"Li+"}
    li: Diffusion = found["Li+"]
    assert li.time_ps[1] == pytest.approx(0.1) and li.msd_A2[0] == pytest.approx(0.0, abs=1e-9)
