"""X-ray S(q): form factors against independent tables, known limits, and two routes agreeing."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers
from ase.utils.xrdebye import waasmaier

from wise_al.observables.rdf import cell_heights_A, partial_rdf
from wise_al.observables.reference import experimental_sq
from wise_al.observables.structure_factor import (
    CROMER_MANN,
    first_peak_per_A,
    form_factor,
    r_factor,
    smooth,
    sq_from_rdf,
    xray_sq,
)
from wise_al.systems.cells import build_benchmark_cell

BOHR_A = 0.529177210903
Q = np.linspace(0.0, 13.0, 131)


@pytest.mark.parametrize("element", sorted(CROMER_MANN))
def test_form_factors_count_the_electrons_at_q_zero(element: str) -> None:
    assert form_factor(element, 0.0) == pytest.approx(atomic_numbers[element], abs=0.01)


def test_hydrogen_follows_the_analytic_1s_form_factor() -> None:
    """f(q) = 1 / (1 + (q a0 / 2)²)² for the hydrogen ground state: H is not zero."""
    analytic = 1.0 / (1.0 + (Q * BOHR_A / 2) ** 2) ** 2
    assert np.abs(form_factor("H", Q) - analytic).max() < 0.02
    assert form_factor("H", 1.0) > 0.8


@pytest.mark.parametrize("element", ["C", "N", "O", "S"])
def test_cromer_mann_agrees_with_waasmaier_kirfel(element: str) -> None:
    """A second, independent fit (ASE's 5-Gaussian Waasmaier–Kirfel table), s = q / 4 pi."""
    coefficients = waasmaier[element]
    s2 = (Q / (4 * np.pi)) ** 2
    other = coefficients[10] + sum(
        coefficients[2 * i] * np.exp(-coefficients[2 * i + 1] * s2) for i in range(5)
    )
    assert np.abs(form_factor(element, Q) - other).max() < 0.05


def test_an_unknown_element_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match="Cu"):
        form_factor("Cu", 1.0)


def _gas(symbols: list[str], seed: int) -> Atoms:
    positions = np.random.default_rng(seed).uniform(0, 20.0, (len(symbols), 3))
    return Atoms(symbols, positions=positions, cell=[20.0] * 3, pbc=True)


@pytest.mark.slow
def test_an_ideal_gas_scatters_like_uncorrelated_atoms() -> None:
    mixture = ["O"] * 300 + ["H"] * 600 + ["Li"] * 100
    sq = xray_sq([_gas(mixture, seed) for seed in range(3)], vectors_per_bin=100)
    assert abs(np.nanmean(sq.s) - 1.0) < 0.02
    # one species: |amplitude|² of one vector is exponentially distributed, so bins of
    # 100 vectors x 3 frames scatter by 1/sqrt(300) around one
    sq = xray_sq([_gas(["O"] * 1000, seed) for seed in range(3)], vectors_per_bin=100)
    full = sq.vectors >= 100
    assert full.sum() > 300
    assert np.mean(np.abs(sq.s[full] - 1.0) < 0.25) > 0.99


def test_an_fcc_crystal_has_its_111_bragg_peak_first() -> None:
    a = 4.0
    crystal = bulk("Cu", "fcc", a=a, cubic=True).repeat(5)
    crystal.set_chemical_symbols(["O"] * len(crystal))
    sq = xray_sq([crystal], q_min_per_A=1.0, q_max_per_A=4.0, vectors_per_bin=500)
    assert first_peak_per_A(sq.q_per_A, sq.s, below_per_A=3.0) == pytest.approx(
        2 * np.pi * np.sqrt(3) / a, abs=0.02
    )
    assert np.nanmax(sq.s) > 50  # a Bragg peak, not liquid order


@pytest.fixture(scope="module")
def packed_cells() -> list[Atoms]:
    """Three packmol cells of p16_w42 (382 atoms, 21 m): real molecules, liquid-like order."""
    return [build_benchmark_cell("p16_w42", seed=seed) for seed in range(3)]


def test_sq_from_gr_and_in_reciprocal_space_agree(packed_cells: list[Atoms]) -> None:
    frames = packed_cells
    sq = xray_sq(frames, vectors_per_bin=100)
    r_max = float(cell_heights_A(frames[0]).min() / 2) - 0.01
    elements = sorted(set(frames[0].get_chemical_symbols()))
    partials, r_A = {}, np.array([])
    for a in elements:
        for b in elements:
            rdf = partial_rdf(frames, a, b, r_max_A=r_max)
            partials[(a, b)], r_A = rdf.g, rdf.r_A
    symbols = frames[0].get_chemical_symbols()
    fractions = {e: symbols.count(e) / len(symbols) for e in elements}
    density = len(symbols) / frames[0].get_volume()
    from_gr = sq_from_rdf(sq.q_per_A, r_A, partials, fractions, density)
    band = (sq.q_per_A >= 2.0) & (sq.q_per_A < 12.5)
    blocks = band.sum() // 25 * 25
    reciprocal = np.nanmean(sq.s[band][:blocks].reshape(-1, 25), axis=1)
    real = from_gr[band][:blocks].reshape(-1, 25).mean(axis=1)
    assert np.abs(reciprocal - real).max() < 0.08
    assert np.abs(reciprocal - real).mean() < 0.03
    # and both go to one at large q
    assert abs(np.nanmean(sq.s[sq.q_per_A > 11.0]) - 1.0) < 0.05


def test_r_factor_and_smoothing() -> None:
    q_exp, s_exp = experimental_sq()
    # the digitised file repeats a few q values with two S: interpolation keeps one of them
    assert r_factor(q_exp, s_exp, q_exp, s_exp) == pytest.approx(0.0, abs=0.002)
    assert r_factor(q_exp, s_exp * 1.1, q_exp, s_exp) == pytest.approx(0.1, abs=0.002)
    # a calculated curve on its own grid, from 0.5: only the overlap up to 12 Å⁻¹ counts
    q = np.arange(0.51, 13.0, 0.02)
    s = np.interp(q, q_exp, s_exp)
    assert r_factor(q, s, q_exp, s_exp) < 0.01
    assert r_factor(q, np.ones_like(q), q_exp, s_exp) > 0.1
    noisy = s + np.random.default_rng(0).normal(0, 0.05, len(s))
    assert np.abs(smooth(noisy, 15) - s).mean() < np.abs(noisy - s).mean() / 2
