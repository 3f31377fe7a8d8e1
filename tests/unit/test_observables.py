"""Observables on cases with known answers: an ideal gas, a crystal, a hand-built Li⁺ shell."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from wise_al.observables.contacts import li_li_contacts
from wise_al.observables.convergence import block_average, running_average
from wise_al.observables.coordination import li_o_coordination, oxygen_classes
from wise_al.observables.density import densities_g_per_cm3, density_g_per_cm3
from wise_al.observables.rdf import partial_rdf

AVOGADRO_PER_MOL = 6.02214076e23


def ideal_gas(n: int, side_A: float, seed: int) -> Atoms:
    rng = np.random.default_rng(seed)
    symbols = ["Ar"] * (n // 2) + ["Ne"] * (n - n // 2)
    return Atoms(symbols, positions=rng.uniform(0, side_A, (n, 3)), cell=[side_A] * 3, pbc=True)


def test_an_ideal_gas_has_g_of_one_for_like_and_unlike_pairs() -> None:
    frames = [ideal_gas(4000, 25.0, seed) for seed in range(3)]
    for a, b in (("Ar", "Ar"), ("Ar", "Ne")):
        rdf = partial_rdf(frames, a, b)
        far = rdf.r_A > 2.0
        assert abs(rdf.g[far].mean() - 1.0) < 0.01
        # 0.5 Å bins hold enough pairs to be within a few percent each
        coarse = rdf.g[far][: (far.sum() // 25) * 25].reshape(-1, 25).mean(axis=1)
        assert np.all(np.abs(coarse - 1.0) < 0.06), coarse
    assert partial_rdf(frames, "Ar", "Ne").density_b_per_A3 == pytest.approx(2000 / 25.0**3)


def test_fcc_peaks_sit_on_the_neighbour_shells_and_integrate_to_12_and_6() -> None:
    a = 3.6
    crystal = bulk("Cu", "fcc", a=a, cubic=True).repeat(4)
    rdf = partial_rdf([crystal], "Cu", "Cu", r_max_A=6.0)
    peaks = rdf.r_A[rdf.g > 0]
    assert peaks.min() == pytest.approx(a / np.sqrt(2), abs=0.02)
    # n(r) = 4 pi rho ∫ g r² dr: the coordination shells of fcc, 12 then 6
    shell = 4 * np.pi * rdf.density_b_per_A3 * rdf.g * rdf.r_A**2 * 0.02
    assert shell[rdf.r_A < 3.0].sum() == pytest.approx(12, rel=0.01)
    assert shell[(rdf.r_A > 3.0) & (rdf.r_A < 4.0)].sum() == pytest.approx(6, rel=0.01)


def test_r_max_beyond_half_the_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="half the cell"):
        partial_rdf([ideal_gas(10, 10.0, 0)], "Ar", "Ar", r_max_A=6.0)


def _li_shell() -> Atoms:
    """Li⁺ at the centre with two waters and two TFSI-like S=O oxygens at 2.0 Å, one far O."""
    centre = np.full(3, 10.0)
    atoms = Atoms("Li", positions=[centre], cell=[20.0] * 3, pbc=True)
    for direction in ([1, 0, 0], [-1, 0, 0]):
        u = np.asarray(direction, float)
        water = molecule("H2O")
        water.translate(-water[0].position)  # O at the origin, Hs on +z
        # O–H bonds along -x (swap x and z), then pointing away from the Li⁺
        water.positions = water.positions @ np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]]) * -u[0]
        water.translate(centre + 2.0 * u)
        atoms += water
    for direction in ([0, 1, 0], [0, -1, 0]):
        u = np.asarray(direction, float)
        atoms += Atoms("OS", positions=[centre + 2.0 * u, centre + 3.45 * u])
    atoms += Atoms("O", positions=[centre + np.array([0.0, 0.0, 3.5])])  # beyond 2.83 Å
    return atoms


def test_a_hand_built_li_shell_splits_two_water_and_two_tfsi_oxygens() -> None:
    shell = _li_shell()
    classes = oxygen_classes(shell)
    symbols = shell.get_chemical_symbols()
    assert len(classes.water) == 2 and len(classes.tfsi) == 2
    assert all(symbols[i] == "O" for i in (*classes.water, *classes.tfsi))
    li_h = shell.get_distances(0, [i for i, s in enumerate(symbols) if s == "H"], mic=True)
    assert li_h.min() > 2.5  # the waters point their hydrogens away, as in a real shell
    cn = li_o_coordination([shell, shell])
    assert (cn.water, cn.tfsi, cn.total) == (2.0, 2.0, 4.0)
    assert li_o_coordination([shell], cutoff_A=3.6).total == 5.0  # the far O comes in


def test_density_of_a_known_cell_matches_avogadro() -> None:
    waters = 64
    side_A = 12.42
    cell = Atoms(
        "H2O" * waters,
        positions=np.random.default_rng(0).uniform(0, side_A, (3 * waters, 3)),
        cell=[side_A] * 3,
        pbc=True,
    )
    mass_g = waters * cell[:3].get_masses().sum() / AVOGADRO_PER_MOL
    expected = mass_g / (side_A**3 * 1e-24)
    assert density_g_per_cm3(cell) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(1.0, abs=0.01)
    bigger = cell.copy()
    bigger.set_cell([side_A * 2] * 3)
    assert list(densities_g_per_cm3([cell, bigger])) == pytest.approx([expected, expected / 8])
    with pytest.raises(ValueError, match="3D cell"):
        density_g_per_cm3(Atoms("H2O"))


def test_block_average_of_known_series() -> None:
    result = block_average([9.0] + [1.0, 3.0] * 10, blocks=4)  # the oldest sample is dropped
    assert result.block_means == pytest.approx((1.8, 2.2, 1.8, 2.2))
    assert result.mean == pytest.approx(2.0)
    constant = block_average(np.full(50, 1.7126), blocks=5)
    assert (constant.mean, constant.stderr) == (pytest.approx(1.7126), 0.0)
    rng = np.random.default_rng(1)
    noisy = block_average(rng.normal(0.0, 1.0, 10_000), blocks=10)
    assert noisy.stderr == pytest.approx(0.01, rel=0.5)  # sigma / sqrt(N) for white noise
    assert list(running_average([1.0, 3.0, 5.0])) == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="blocks"):
        block_average([1.0, 2.0], blocks=5)


def test_li_li_contacts_count_frames_li_and_lifetimes() -> None:
    def frame(distance_A: float) -> Atoms:
        positions = [[5, 5, 5], [5 + distance_A, 5, 5], [15, 15, 15]]
        return Atoms("Li3", positions=positions, cell=[20] * 3, pbc=True)

    trajectory = [frame(d) for d in (3.0, 2.5, 2.4, 3.0, 2.5)]
    contacts = li_li_contacts(trajectory, distance_A=2.6)
    assert contacts.frame_fraction == pytest.approx(3 / 5)
    assert contacts.li_fraction == pytest.approx(3 / 5 * 2 / 3)
    assert (contacts.mean_lifetime_frames, contacts.max_lifetime_frames) == (1.5, 2)
    none = li_li_contacts(trajectory, distance_A=2.0)
    assert (none.frame_fraction, none.max_lifetime_frames) == (0.0, 0)
    assert contacts.closest_A == pytest.approx(2.4)
    assert contacts.mean_closest_A == pytest.approx((3.0 + 2.5 + 2.4 + 3.0 + 2.5) / 5)
    # across the boundary: Li at 1 Å and 19 Å of a 20 Å cell are 2 Å apart
    wrapped = Atoms("Li2", positions=[[1, 5, 5], [19, 5, 5]], cell=[20] * 3, pbc=True)
    assert li_li_contacts([wrapped]).closest_A == pytest.approx(2.0)


def test_the_reference_data_ships_with_the_package() -> None:
    from wise_al.observables.reference import experimental_sq, references_21m

    refs = references_21m()
    assert refs["density_g_cm3"]["value"] == 1.7126
    assert refs["li_o_coordination"]["experiment"]["total"] == 4.21
    q, s = experimental_sq()
    assert len(q) == 299 and np.all(np.diff(q) >= 0)  # sorted (the digitised file is not)
    assert 0.2 < q[0] < 0.25 and 11.8 < q[-1] < 12.0
    assert 0.9 < s[-1] < 1.0  # S(q) -> 1 at large q (Faber-Ziman)


def test_figures_draw_the_report_over_experiment() -> None:
    from wise_al.observables.figures import report_figures
    from wise_al.observables.reference import experimental_sq

    report = {
        "frames": 3,
        "time_ps": [0.0, 0.5, 1.0],
        "density_series_g_per_cm3": [1.70, 1.72, 1.71],
        "density_running_g_per_cm3": [1.70, 1.71, 1.71],
        "sq_q_per_A": [0.5, 0.52],
        "sq": [0.9, 1.1],
        "sq_r_factor": 0.123,
        "rdf": {"r_A": [1.0, 2.0], "li_o_water": [0, 3], "li_o_tfsi": [0, 2], "li_li": [0, 0]},
        "cn_li_o_running": {"water": [2, 2.1, 2.2], "tfsi": [2, 1.9, 1.8], "total": [4, 4, 4]},
    }
    figures = report_figures(report)
    assert set(figures) == {"sq", "density", "rdf", "convergence"}
    assert list(figures["convergence"].data[0].y) == [2, 2.1, 2.2]
    assert [shape.y0 for shape in figures["convergence"].layout.shapes] == [1.93, 2.28, 4.21]
    experiment, ours = figures["sq"].data
    np.testing.assert_array_equal(experiment.x, experimental_sq()[0])
    assert list(ours.y) == report["sq"] and "R = 0.123" in figures["sq"].layout.title.text
    assert list(figures["density"].data[1].y) == report["density_running_g_per_cm3"]
    assert figures["density"].layout.shapes[0].y0 == 1.7126  # the experimental line
    assert [t.name for t in figures["rdf"].data] == ["Li–O water", "Li–O TFSI", "Li–Li"]
    del report["rdf"], report["time_ps"], report["cn_li_o_running"]
    assert set(report_figures(report)) == {"sq", "density"}


def test_a_short_run_reports_strict_json_with_missing_errors_as_none() -> None:
    """11 frames: too few for a block error of D; the report stays strict JSON (PostgreSQL's
    JSONB refuses NaN) and the table prints it."""
    import json

    from tests.support.factories import spreading_frames
    from wise_al.observables.report import comparison_rows, observe
    from wise_al.systems.cells import pack_cell

    cell = pack_cell({"LiTFSI": 2, "H2O": 5}, density_g_per_cm3=1.7126, seed=0)
    report = observe(spreading_frames(cell, 11, 0.05), frame_interval_fs=5.0)
    json.dumps(report, allow_nan=False)
    assert report["diffusion_A2_per_ps"]["Li+"]["stderr"] is None
    assert report["diffusion_A2_per_ps"]["Li+"]["d"] > 0
    rows = dict((name, value) for name, value, _ in comparison_rows(report))
    assert "±" not in rows["D Li+ (Å²/ps)"]
