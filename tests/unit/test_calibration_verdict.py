"""When a committee counts as calibrated: its deviation must rank the errors and match
their size. Members built so that σ and the true error per atom are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from wise_al.calibration import calibrate
from wise_al.campaign_spec.exploration import UncertaintySpec
from wise_al.jobs.calibrate import frame_classes


def _verdict(sigma: np.ndarray, error: np.ndarray) -> str | None:
    """Two members at mean ``error`` ± ``sigma`` along x; the label is zero force."""
    along_x = np.zeros((len(sigma), 3))
    mean, spread = along_x.copy(), along_x.copy()
    mean[:, 0], spread[:, 0] = error, sigma
    members = np.stack([mean + spread, mean - spread])
    result = calibrate([members], [np.zeros_like(mean)], 0.05, 0.3)
    assert result.slope == pytest.approx(float(sigma @ error / (sigma @ sigma)))
    return result.verdict(min_rank_correlation=0.3, max_slope_factor=3.0)


SIGMA = np.linspace(0.1, 1.0, 20)


def test_a_deviation_that_is_the_error_is_calibrated() -> None:
    assert _verdict(SIGMA, SIGMA) is None
    assert _verdict(SIGMA, 2.5 * SIGMA) is None  # within the factor of 3


def test_a_deviation_that_ranks_errors_backwards_is_not() -> None:
    why = _verdict(SIGMA, SIGMA[::-1])
    assert why is not None and "does not rank the errors (Spearman -1.00 < 0.3)" in why


def test_a_deviation_four_times_below_the_error_is_not() -> None:
    why = _verdict(SIGMA, 4 * SIGMA)
    assert why is not None and "slope 4.00, outside 1/3..3" in why


def test_a_deviation_twenty_times_below_is_under_dispersed() -> None:
    why = _verdict(SIGMA, 20 * SIGMA)
    assert why is not None and "under-dispersed" in why and "20x below" in why


def test_frame_classes_apply_the_scale_before_the_window() -> None:
    window = UncertaintySpec(trust_lo_eV_per_A=0.1, trust_hi_eV_per_A=1.0)
    deviations = [0.02, 0.05, 0.2, 0.4]
    assert frame_classes(deviations, 1.0, window) == {"accurate": 2, "candidate": 2, "failed": 0}
    # σ four times too small: read as an error (0.08, 0.2, 0.8, 1.6) one frame has failed
    assert frame_classes(deviations, 4.0, window) == {"accurate": 1, "candidate": 2, "failed": 1}
