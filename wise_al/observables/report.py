"""Every observable of a trajectory, beside experiment: what ``wise-al observe`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

import numpy as np
from ase import Atoms

from wise_al.observables.contacts import LI_LI_CONTACT_A, li_li_contacts
from wise_al.observables.convergence import block_average, running_average
from wise_al.observables.coordination import li_o_coordination, oxygen_classes
from wise_al.observables.density import densities_g_per_cm3
from wise_al.observables.diffusion import diffusion, order_matches_experiment
from wise_al.observables.rdf import DR_A, R_MAX_A, cell_heights_A, partial_rdf
from wise_al.observables.reference import experimental_sq
from wise_al.observables.registry import OBSERVABLES
from wise_al.observables.structure_factor import (
    SQ_WINDOW_BINS,
    first_peak_per_A,
    r_factor,
    smallest_wave_vector_per_A,
    smooth,
    xray_sq,
)

#: Block averages need this many frames; fewer report the plain mean without an error.
MIN_FRAMES_FOR_BLOCKS = 10
#: Wave vectors per S(q) bin summed over a run's frames, by default.
SQ_SAMPLES_PER_BIN = 10_000


def check_trajectory(frames: Sequence[Atoms]) -> None:
    """Refuse what the observables cannot read: open cells, a changing composition.

    Raises
    ------
    ValueError
        Naming the first frame at fault.
    """
    if not frames:
        raise ValueError("the trajectory holds no frame")
    first = frames[0].get_chemical_symbols()
    for k, atoms in enumerate(frames):
        if not atoms.pbc.all() or atoms.cell.rank < 3:
            raise ValueError(f"frame {k}: observables need a periodic frame with a 3D cell")
        if not np.isfinite(atoms.positions).all():
            raise ValueError(f"frame {k}: positions contain NaN or infinity")
        if atoms.get_chemical_symbols() != first:
            raise ValueError(f"frame {k}: its atoms differ from frame 0's (one system per file)")


def _mean_and_error(values: np.ndarray) -> tuple[float, float | None]:
    if len(values) < MIN_FRAMES_FOR_BLOCKS:
        return float(values.mean()), None
    blocks = block_average(values, blocks=5)
    return blocks.mean, blocks.stderr


def observe(
    frames: Sequence[Atoms],
    frame_interval_fs: float | None = None,
    sq_vectors_per_bin: int | None = None,
    sq_window: int = SQ_WINDOW_BINS,
    contact_distance_A: float = LI_LI_CONTACT_A,
    ensemble: str | None = None,
) -> dict[str, Any]:
    """Density, Li–O coordination, X-ray S(q) and its R-factor, Li–Li contacts, diffusion.

    ``ensemble`` (``NVT`` or ``NPT``) says whether the density was imposed or measured; by
    default a run whose cell volume never changes is taken as NVT. The report records it
    (``density_ensemble``) and the cell's smallest wave vector (``sq_min_q_per_A``), from
    which :func:`wise_al.observables.scores.not_measurable` decides what can be graded.

    Diffusion needs ``frame_interval_fs`` and at least 8 frames; it is None otherwise.
    S(q) draws ``sq_vectors_per_bin`` wave vectors per bin and frame; by default enough for
    about :data:`SQ_SAMPLES_PER_BIN` over the run (between 20 and 200 per frame), since the
    cost is atoms x vectors per frame and a long run needs few vectors per frame.
    """
    check_trajectory(frames)
    symbols = set(frames[0].get_chemical_symbols())
    series = densities_g_per_cm3(frames)
    density, density_err = _mean_and_error(series)
    interval_ps = None if frame_interval_fs is None else frame_interval_fs / 1000
    volumes = np.array([atoms.get_volume() for atoms in frames])
    constant = np.ptp(volumes) <= 1e-9 * volumes.mean()
    report: dict[str, Any] = {
        "frames": len(frames),
        "atoms": len(frames[0]),
        "density_ensemble": ensemble or ("NVT" if constant else "NPT"),
        "density_g_per_cm3": density,
        "density_stderr_g_per_cm3": density_err,
        # the series behind the averages: is the run long enough? (convergence plots)
        "time_ps": None if interval_ps is None else (np.arange(len(frames)) * interval_ps).tolist(),
        "density_series_g_per_cm3": series.round(5).tolist(),
        "density_running_g_per_cm3": running_average(series).round(5).tolist(),
    }
    if "Li" in symbols and "O" in symbols:
        # per frame (every frame holds the same Li), so the run's CN is the series' mean and
        # its running average shows whether the run was long enough
        per_frame = np.array([astuple(li_o_coordination([f])) for f in frames])
        water, tfsi, total = per_frame.mean(axis=0)
        report |= {"cn_li_o_water": water, "cn_li_o_tfsi": tfsi, "cn_li_o_total": total}
        report["cn_li_o_total_stderr"] = _mean_and_error(per_frame[:, 2])[1]
        report["cn_li_o_running"] = {
            name: running_average(per_frame[:, k]).round(4).tolist()
            for k, name in enumerate(("water", "tfsi", "total"))
        }
        report["rdf"] = _li_rdfs(frames)
    per_bin = sq_vectors_per_bin or int(np.clip(SQ_SAMPLES_PER_BIN / len(frames), 20, 200))
    sq = xray_sq(frames, vectors_per_bin=per_bin)
    smoothed = smooth(sq.s, sq_window)
    q_exp, s_exp = experimental_sq()
    report |= {
        "sq_q_per_A": sq.q_per_A.round(4).tolist(),
        "sq": [None if not np.isfinite(v) else round(float(v), 5) for v in smoothed],
        "sq_r_factor": r_factor(sq.q_per_A, smoothed, q_exp, s_exp),
        "sq_first_peak_per_A": first_peak_per_A(sq.q_per_A, smoothed),
        "sq_min_q_per_A": smallest_wave_vector_per_A(frames),
    }
    if "Li" in symbols:
        contacts = li_li_contacts(frames, contact_distance_A)
        report |= {
            "li_li_contact_distance_A": contacts.distance_A,
            "li_li_contact_fraction": contacts.frame_fraction,
            "li_li_contact_li_fraction": contacts.li_fraction,
            "li_li_contact_mean_lifetime_frames": contacts.mean_lifetime_frames,
            "li_li_closest_A": contacts.closest_A,
            "li_li_mean_closest_A": contacts.mean_closest_A,
        }
    report["diffusion_A2_per_ps"] = None
    if frame_interval_fs is not None and len(frames) >= 8:
        found = diffusion(frames, frame_interval_fs)
        report["diffusion_A2_per_ps"] = {
            name: {"d": d.d_A2_per_ps, "stderr": d.stderr_A2_per_ps} for name, d in found.items()
        }
        if {"H2O", "Li+", "TFSI-"} <= set(found):
            report["diffusion_order_matches_experiment"] = order_matches_experiment(found)
    return finite_or_none(report)


def finite_or_none(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None: strict JSON, which PostgreSQL's
    JSONB (where validations are stored) requires; a missing number reads as missing."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


def _li_rdfs(frames: Sequence[Atoms]) -> dict[str, list[float]]:
    """g(r) of Li–O (water O, TFSI O) and Li–Li, to 6 Å or half the smallest cell height."""
    half_cell = min(cell_heights_A(f).min() for f in frames) / 2
    r_max = min(R_MAX_A, np.floor(half_cell / DR_A) * DR_A)  # whole bins only
    curves = {
        "li_o_water": partial_rdf(frames, "Li", lambda a: oxygen_classes(a).water, r_max),
        "li_o_tfsi": partial_rdf(frames, "Li", lambda a: oxygen_classes(a).tfsi, r_max),
        "li_li": partial_rdf(frames, "Li", "Li", r_max),
    }
    rdfs = {"r_A": next(iter(curves.values())).r_A.round(4).tolist()}
    return rdfs | {name: c.g.round(4).tolist() for name, c in curves.items()}


def comparison_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(observable, this trajectory, reference) rows for a table: every observable of
    :data:`~wise_al.observables.registry.OBSERVABLES`."""
    return [(o.label, o.shown(report), o.reference) for o in OBSERVABLES.values()]
