"""Errors of models on labelled frames, and parity plots to look at them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms, units

from wise_al.mace.committee import Committee


@dataclass(frozen=True)
class Errors:
    """Root-mean-square errors against the labels (``REF_*``).

    Energies per atom (meV/atom), force components (meV/Å), stress components (meV/Å³ and
    GPa, only over frames whose labels have stress; both in the ``(1/V) dE/dstrain``
    convention of labels and models).
    """

    frames: int
    energy_rmse_meV_per_atom: float
    forces_rmse_meV_per_A: float
    stress_rmse_meV_per_A3: float | None
    stress_rmse_GPa: float | None = None
    stress_frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Parity:
    """Label and prediction pairs: per-atom energies (eV/atom) and force components (eV/Å)."""

    energy_ref: np.ndarray
    energy_pred: np.ndarray
    forces_ref: np.ndarray
    forces_pred: np.ndarray


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def evaluate(
    model_file: Path, frames: Sequence[Atoms], device: str = "cpu"
) -> tuple[Errors, Parity]:
    """Errors of one model on labelled frames, with the pairs behind them."""
    model = Committee([model_file], device=device, min_members=1)
    with_stress = [k for k, a in enumerate(frames) if "REF_stress" in a.info]
    prediction = model.predict(frames, compute_stress=bool(with_stress))
    n_atoms = np.array([len(a) for a in frames])
    energy_ref = np.array([float(a.info["REF_energy"]) for a in frames]) / n_atoms
    energy_pred = prediction.energies_eV[0] / n_atoms
    forces_ref = np.concatenate([np.asarray(a.arrays["REF_forces"]).ravel() for a in frames])
    forces_pred = np.concatenate([f[0].ravel() for f in prediction.forces_eV_per_A])
    stress = None
    if with_stress and prediction.stress_eV_per_A3 is not None:
        ref = np.array([np.reshape(frames[k].info["REF_stress"], -1)[:9] for k in with_stress])
        pred = prediction.stress_eV_per_A3[0, with_stress].reshape(len(with_stress), 9)
        stress = _rmse(ref, pred)
    errors = Errors(
        frames=len(frames),
        energy_rmse_meV_per_atom=1000 * _rmse(energy_ref, energy_pred),
        forces_rmse_meV_per_A=1000 * _rmse(forces_ref, forces_pred),
        stress_rmse_meV_per_A3=None if stress is None else 1000 * stress,
        stress_rmse_GPa=None if stress is None else stress / units.GPa,
        stress_frames=len(with_stress) if stress is not None else 0,
    )
    return errors, Parity(energy_ref, energy_pred, forces_ref, forces_pred)


def parity_plot(parity: Parity, errors: Errors, title: str, out: Path) -> Path:
    """Energy and force parity plots side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on workers
    from matplotlib import pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6), constrained_layout=True)
    panels = (
        (left, parity.energy_ref, parity.energy_pred, "energy (eV/atom)",
         f"RMSE {errors.energy_rmse_meV_per_atom:.1f} meV/atom"),
        (right, parity.forces_ref, parity.forces_pred, "force component (eV/Å)",
         f"RMSE {errors.forces_rmse_meV_per_A:.1f} meV/Å"),
    )  # fmt: skip
    for axis, ref, pred, label, rmse in panels:
        low, high = float(min(ref.min(), pred.min())), float(max(ref.max(), pred.max()))
        axis.plot([low, high], [low, high], color="0.6", linewidth=1)
        axis.scatter(ref, pred, s=6, alpha=0.6)
        axis.set(xlabel=f"label {label}", ylabel=f"model {label}", title=rmse)
        axis.set_aspect("equal", adjustable="datalim")
    figure.suptitle(f"{title}: {errors.frames} frames")
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out
