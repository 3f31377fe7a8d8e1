"""Observables cost on p64_w170 (1534 atoms), ours against freud, side by side in one run.

    .venv/bin/pip install freud-analysis          # the reference library (not a dependency)
    .venv/bin/python benchmarks/observables_cost.py [--frames 501] [--sq-frames 5]

Frames are the packed benchmark cell with Gaussian displacements (cost does not depend on
the dynamics). Measured on every frame:
  1. Li–O g(r) (6 Å, 0.02 Å bins): ``wise_al.observables.rdf.partial_rdf`` against
     ``freud.density.RDF`` on the same frames: time ratio and max |g_ours - g_freud|;
  2. Li–O coordination by oxygen class (ours only: freud has no oxygen classes);
  3. X-ray S(q) in reciprocal space, on ``--sq-frames`` frames at the vectors per bin that
     ``wise-al observe`` draws for a run of ``--frames`` frames; the cost of the whole run is
     that per-frame time times the frames.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.factories import jiggled_frames
from wise_al.observables.coordination import li_o_coordination
from wise_al.observables.rdf import DR_A, R_MAX_A, partial_rdf
from wise_al.observables.report import SQ_SAMPLES_PER_BIN
from wise_al.observables.structure_factor import xray_sq
from wise_al.systems.cells import build_benchmark_cell


def freud_rdf(frames: list, bins: int) -> tuple[np.ndarray, np.ndarray]:
    import freud

    rdf = freud.density.RDF(bins=bins, r_max=R_MAX_A)
    for atoms in frames:
        box = freud.box.Box.from_matrix(np.asarray(atoms.cell).T)
        symbols = np.asarray(atoms.get_chemical_symbols())
        centred = atoms.positions - np.asarray(atoms.cell).sum(axis=0) / 2
        li = box.wrap(centred[symbols == "Li"])
        oxygen = box.wrap(centred[symbols == "O"])
        rdf.compute(system=(box, oxygen), query_points=li, reset=False)
    return np.asarray(rdf.bin_centers), np.asarray(rdf.rdf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=501)
    parser.add_argument("--sq-frames", type=int, default=5)
    args = parser.parse_args()

    cell = build_benchmark_cell("p64_w170", seed=0)
    frames = jiggled_frames(cell, args.frames, 0.1)
    bins = round(R_MAX_A / DR_A)
    freud_rdf(frames[:1], bins)  # import and first call outside the timing, for both
    partial_rdf(frames[:1], "Li", "O")

    start = time.perf_counter()
    ours = partial_rdf(frames, "Li", "O")
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    r_freud, g_freud = freud_rdf(frames, bins)
    t_freud = time.perf_counter() - start
    assert np.allclose(ours.r_A, r_freud)
    difference = float(np.abs(ours.g - g_freud).max())

    start = time.perf_counter()
    li_o_coordination(frames)
    t_cn = time.perf_counter() - start

    per_bin = int(np.clip(SQ_SAMPLES_PER_BIN / args.frames, 20, 200))
    start = time.perf_counter()
    xray_sq(frames[: args.sq_frames], vectors_per_bin=per_bin)
    t_sq = (time.perf_counter() - start) / args.sq_frames

    n = args.frames
    print(f"\n{len(cell)} atoms, {n} frames, this CPU\n")
    print("| observable | ours (s) | freud (s) | ratio | max difference |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| Li–O g(r), {n} frames | {t_ours:.1f} | {t_freud:.1f} | "
        f"{t_ours / t_freud:.2f} × freud's time | {difference:.1e} |"
    )
    print(f"| Li–O CN by oxygen class, {n} frames | {t_cn:.1f} | – | – | – |")
    print(
        f"| X-ray S(q), {per_bin} vectors per bin | {t_sq:.2f} per frame, "
        f"{t_sq * n / 60:.0f} min for {n} | – | – | – |"
    )


if __name__ == "__main__":
    main()
