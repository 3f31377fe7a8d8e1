"""Is the committee's deviation a measure of its error? Checked on fresh labels.

A committee says a frame is accurate when its members agree. Members fine-tuned from one
foundation and differing only by seed are known to agree far more than they are right
(under-dispersed): their silence then reads as convergence. So every iteration, before the
new labels are trained on, the committee that explored compares its predicted per-atom
deviation ``σ_i`` (:func:`wise_al.uncertainty.atom_force_deviation`) with the true error of
its mean prediction ``|F_mean,i - F_label,i|`` on those labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from wise_al.uncertainty import atom_force_deviation

#: Median predicted deviation below this fraction of the median true error: under-dispersed.
UNDER_DISPERSED_RATIO = 0.1


@dataclass(frozen=True)
class Calibration:
    """Predicted deviation against true error on one iteration's fresh labels.

    Attributes
    ----------
    frames, atoms
        How many labelled frames (and their atoms) the numbers come from.
    dispersion_ratio
        Median per-atom predicted σ over median per-atom true error: 1 for a committee
        whose spread is its error, far below 1 for one that is overconfident (None: the
        labels are matched exactly, nothing to compare).
    slope
        True error ≈ slope × σ (least squares through the origin, per atom): how much to
        scale σ to read it as an error (None: the members agree exactly).
    rank_correlation
        Spearman correlation of per-atom σ and true error (does σ at least order errors?);
        None when either is constant.
    failed_truth, missed
        Frames whose true max force error exceeds ``trust_hi``, and how many of those the
        committee called accurate (max σ below ``trust_lo``).
    under_dispersed
        ``dispersion_ratio`` below :data:`UNDER_DISPERSED_RATIO`: such a committee never
        counts towards convergence.
    predicted_max_eV_per_A, true_max_eV_per_A
        Per frame: max σ and max true error (the calibration plot).
    """

    frames: int
    atoms: int
    dispersion_ratio: float | None
    slope: float | None
    rank_correlation: float | None
    failed_truth: int
    missed: int
    under_dispersed: bool
    median_predicted_eV_per_A: float
    median_true_error_eV_per_A: float
    predicted_max_eV_per_A: list[float]
    true_max_eV_per_A: list[float]

    @property
    def missed_share(self) -> float | None:
        """Share of truly failed frames the committee called accurate (None: none failed)."""
        return self.missed / self.failed_truth if self.failed_truth else None

    def verdict(self, min_rank_correlation: float, max_slope_factor: float) -> str | None:
        """Why the deviation is not a measure of the error, or None when it is: it must
        order the errors (rank correlation) and match their size within a factor (slope)."""
        if self.under_dispersed:
            ratio = self.dispersion_ratio or 0.0
            return f"under-dispersed: its deviation is {1 / ratio:.0f}x below its true error"
        rho = self.rank_correlation
        if rho is None or rho < min_rank_correlation:
            shown = "undefined" if rho is None else f"{rho:.2f}"
            return (
                f"its deviation does not rank the errors (Spearman {shown} < "
                f"{min_rank_correlation:g})"
            )
        slope = self.slope
        if slope is None or not 1 / max_slope_factor <= slope <= max_slope_factor:
            shown = "undefined" if slope is None else f"{slope:.2f}"
            return (
                f"its deviation is off the error's scale (slope {shown}, outside "
                f"1/{max_slope_factor:g}..{max_slope_factor:g})"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "missed_share": self.missed_share}


def calibrate(
    member_forces_eV_per_A: Sequence[np.ndarray],
    label_forces_eV_per_A: Sequence[np.ndarray],
    trust_lo_eV_per_A: float,
    trust_hi_eV_per_A: float,
) -> Calibration:
    """Compare a committee's deviation with its true error on labelled frames.

    Parameters
    ----------
    member_forces_eV_per_A
        Per frame, the members' forces, shape (members, atoms, 3).
    label_forces_eV_per_A
        Per frame, the label's forces, shape (atoms, 3).
    trust_lo_eV_per_A, trust_hi_eV_per_A
        The campaign's trust window.

    Raises
    ------
    ValueError
        No frames, or shapes that do not match.
    """
    if not member_forces_eV_per_A or len(member_forces_eV_per_A) != len(label_forces_eV_per_A):
        raise ValueError("calibration needs the same, non-zero number of predictions and labels")
    sigmas, errors = [], []
    for members, label in zip(member_forces_eV_per_A, label_forces_eV_per_A, strict=True):
        members, label = np.asarray(members, dtype=float), np.asarray(label, dtype=float)
        if members.shape[1:] != label.shape:
            raise ValueError(f"member forces {members.shape} do not match labels {label.shape}")
        sigmas.append(atom_force_deviation(members))
        errors.append(np.linalg.norm(members.mean(axis=0) - label, axis=1))
    sigma, error = np.concatenate(sigmas), np.concatenate(errors)
    predicted_max = np.array([s.max() for s in sigmas])
    true_max = np.array([e.max() for e in errors])
    median_sigma, median_error = float(np.median(sigma)), float(np.median(error))
    ratio = median_sigma / median_error if median_error > 0 else None
    squares = float(np.dot(sigma, sigma))
    slope = float(np.dot(sigma, error) / squares) if squares > 0 else None
    varied = np.ptp(sigma) > 0 and np.ptp(error) > 0
    failed_truth = true_max > trust_hi_eV_per_A
    return Calibration(
        frames=len(sigmas),
        atoms=int(sigma.size),
        dispersion_ratio=ratio,
        slope=slope,
        rank_correlation=float(spearmanr(sigma, error).statistic) if varied else None,
        failed_truth=int(failed_truth.sum()),
        missed=int((failed_truth & (predicted_max < trust_lo_eV_per_A)).sum()),
        under_dispersed=ratio is not None and ratio < UNDER_DISPERSED_RATIO,
        median_predicted_eV_per_A=median_sigma,
        median_true_error_eV_per_A=median_error,
        predicted_max_eV_per_A=predicted_max.tolist(),
        true_max_eV_per_A=true_max.tolist(),
    )
