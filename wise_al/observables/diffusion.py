"""Self-diffusion from mean squared displacements: water > Li⁺ > TFSI⁻ in experiment.

Positions are unwrapped (each step's displacement taken under the minimum image), the
centre-of-mass drift of the whole cell is removed, and the MSD is averaged over every time
origin (the FFT algorithm: linear in frames). ``D = slope / 6`` from a straight-line fit over
a window of lag times, with its standard error from the same fit on separate blocks of the
trajectory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from ase import Atoms

from wise_al.observables.coordination import oxygen_classes

#: Which atoms stand for each species: Li⁺ itself, water by its oxygen, TFSI⁻ by its N.
SPECIES_ATOMS: dict[str, Callable[[Atoms], np.ndarray]] = {
    "Li+": lambda atoms: np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == "Li"),
    "H2O": lambda atoms: oxygen_classes(atoms).water,
    "TFSI-": lambda atoms: np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == "N"),
}
#: The order experiment (PFG-NMR) gives, fastest first.
EXPERIMENTAL_ORDER = ("H2O", "Li+", "TFSI-")


def unwrapped_positions(frames: Sequence[Atoms], remove_drift: bool = True) -> np.ndarray:
    """Positions (frames x atoms x 3, Å) following atoms across the periodic boundaries,
    with the cell's centre-of-mass drift removed unless asked not to."""
    positions = np.array([frame.positions for frame in frames])
    steps = np.diff(positions, axis=0)
    for t, frame in enumerate(frames[1:]):
        cell = np.asarray(frame.cell)
        fractional = steps[t] @ np.linalg.inv(cell)
        steps[t] = (fractional - np.round(fractional)) @ cell
    unwrapped = np.concatenate([positions[:1], positions[:1] + np.cumsum(steps, axis=0)])
    if not remove_drift:
        return unwrapped
    masses = frames[0].get_masses()
    drift = (unwrapped * masses[None, :, None]).sum(axis=1) / masses.sum()
    return np.asarray(unwrapped - (drift - drift[0])[:, None, :])


def mean_squared_displacement(positions: np.ndarray) -> np.ndarray:
    """MSD (Å²) at every lag 0..T-1 of positions (T x atoms x 3), averaged over time origins
    and atoms, by the FFT algorithm (Calandrini et al.)."""
    frames = positions.shape[0]
    squared = (positions**2).sum(axis=2)  # T x atoms
    total = 2 * squared.sum(axis=0)
    s1 = np.empty((frames, positions.shape[1]))
    remaining = total.copy()
    for lag in range(frames):
        s1[lag] = remaining / (frames - lag)
        remaining -= squared[lag] + squared[frames - 1 - lag]
    spectrum = np.fft.rfft(positions, n=2 * frames, axis=0)
    correlation = np.fft.irfft(spectrum * spectrum.conj(), axis=0)[:frames].sum(axis=2)
    s2 = correlation / (frames - np.arange(frames))[:, None]
    return np.asarray((s1 - 2 * s2).mean(axis=1))


@dataclass(frozen=True)
class Diffusion:
    """Self-diffusion of one species.

    Attributes
    ----------
    d_A2_per_ps, stderr_A2_per_ps
        D from the fit window, and the standard error over trajectory blocks (NaN with fewer
        than two blocks long enough to fit).
    time_ps, msd_A2
        The MSD curve the fit was made on.
    """

    d_A2_per_ps: float
    stderr_A2_per_ps: float
    time_ps: np.ndarray
    msd_A2: np.ndarray


def _slope_D(time_ps: np.ndarray, msd: np.ndarray, window: tuple[float, float]) -> float:
    lo, hi = (round(f * (len(time_ps) - 1)) for f in window)
    fit = np.polyfit(time_ps[lo : hi + 1], msd[lo : hi + 1], 1)
    return float(fit[0] / 6.0)


def diffusion(
    frames: Sequence[Atoms],
    frame_interval_fs: float,
    species: Mapping[str, Callable[[Atoms], np.ndarray]] = SPECIES_ATOMS,
    window: tuple[float, float] = (0.1, 0.5),
    blocks: int = 4,
) -> dict[str, Diffusion]:
    """D of each species present, fitted over ``window`` (fractions of the longest lag).

    Raises
    ------
    ValueError
        With fewer than 8 frames (no lag window to fit).
    """
    if len(frames) < 8:
        raise ValueError(f"{len(frames)} frames: at least 8 are needed to fit an MSD")
    unwrapped = unwrapped_positions(frames)
    result = {}
    for name, pick in species.items():
        atoms = pick(frames[0])
        if len(atoms) == 0:
            continue
        msd = mean_squared_displacement(unwrapped[:, atoms])
        time_ps = np.arange(len(frames)) * frame_interval_fs / 1000.0
        d = _slope_D(time_ps, msd, window)
        size = len(frames) // blocks
        per_block = [
            _slope_D(time_ps[:size], mean_squared_displacement(part[:, atoms]), window)
            for part in (unwrapped[k * size : (k + 1) * size] for k in range(blocks))
            if size >= 8
        ]
        spread = (
            np.std(per_block, ddof=1) / np.sqrt(len(per_block)) if len(per_block) > 1 else np.nan
        )
        stderr = float(spread)
        result[name] = Diffusion(d, stderr, time_ps, msd)
    return result


def order_matches_experiment(coefficients: Mapping[str, Diffusion]) -> bool:
    """Whether water diffuses faster than Li⁺, and Li⁺ faster than TFSI⁻."""
    values = [coefficients[name].d_A2_per_ps for name in EXPERIMENTAL_ORDER]
    return all(a > b for a, b in pairwise(values))
