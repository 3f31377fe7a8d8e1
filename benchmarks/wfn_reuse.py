"""Wavefunction reuse along an MD trajectory: SCF steps and wall time per label, in one run.

    .venv/bin/python benchmarks/wfn_reuse.py [--method xtb|dft] [--frames 10] [--stride 10]

The trajectory is real GFN1-xTB NVT MD run by CP2K itself (0.5 fs steps, CSVR at 300 K),
sampled every ``stride`` steps, as exploration frames arrive. Every frame is then labelled
twice with the same Labeller settings: from atomic densities (no library) and from the
nearest converged wavefunction (a library filled as labelling goes). xtb labels a
2 LiTFSI + 5 H2O cell (47 atoms); dft labels Li+ and 3 waters (10 atoms, 8 Å box) with
PBE/DZVP at 300 Ry, the CI test case.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ase import Atoms
from ase.io import read

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.input import build_input, render_input
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller, LabelResult
from wise_al.cp2k.run import LaunchProfile, run_cp2k
from wise_al.cp2k.wavefunctions import WavefunctionLibrary
from wise_al.systems.cells import pack_cell

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "li_water_xtb.extxyz"


def start_frame(method: str) -> Atoms:
    if method == "xtb":
        return pack_cell({"LiTFSI": 2, "H2O": 5}, seed=0)
    atoms = read(DATA, 1)
    assert isinstance(atoms, Atoms)
    atoms.cell = [8.0, 8.0, 8.0]
    atoms.center()
    atoms.pbc = True
    return atoms


def xtb_trajectory(atoms: Atoms, frames: int, stride: int, work: Path, omp: int) -> list[Atoms]:
    """``frames`` snapshots ``stride`` MD steps apart, from CP2K's own xTB MD."""
    tree = build_input(LabellingSpec(), atoms)
    tree["global"]["run_type"] = "MD"
    del tree["force_eval"]["print"], tree["force_eval"]["stress_tensor"]
    tree["motion"] = {
        "md": {
            "ensemble": "NVT",
            "steps": frames * stride,
            "timestep": 0.5,
            "temperature": 300.0,
            "thermostat": {"type": "CSVR", "csvr": {"timecon": 50.0}},
        },
        "print": {"trajectory": {"each": {"md": stride}}},
    }
    outcome = run_cp2k(render_input(tree), work, LaunchProfile(omp_threads=omp, time_limit_s=3600))
    if outcome.returncode != 0:
        raise SystemExit(f"xTB MD failed; see {work}")
    snapshots = read(work / "label-pos-1.xyz", index=":")
    assert isinstance(snapshots, list)
    for snapshot in snapshots:
        snapshot.cell, snapshot.pbc = atoms.cell, atoms.pbc
    return snapshots[1 : frames + 1]  # the first is the start frame itself


def label_all(labeller: Labeller, frames: list[Atoms]) -> list[LabelResult]:
    results = []
    for atoms in frames:
        result = labeller.label(atoms)
        if not result.ok:
            raise SystemExit(f"a label failed ({result.failure}): {result.directory}")
        results.append(result)
    return results


def rescued(results: list[LabelResult]) -> int:
    return sum(len(r.attempts) > 1 for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["xtb", "dft"], default="xtb")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--stride", type=int, default=10, help="MD steps between frames")
    parser.add_argument("--omp", type=int, default=2, help="OpenMP threads per CP2K run")
    parser.add_argument(
        "--max-scf", type=int, default=200, help="high enough that no label needs a rescue"
    )
    args = parser.parse_args()
    spec = (
        LabellingSpec(max_scf=args.max_scf)
        if args.method == "xtb"
        else LabellingSpec(method="dft", cutoff_Ry=300, eps_scf=1e-6, max_scf=args.max_scf)
    )
    cp2k, profile = detect(), LaunchProfile(omp_threads=args.omp, time_limit_s=3600)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        start = time.perf_counter()
        frames = xtb_trajectory(
            start_frame(args.method), args.frames, args.stride, work / "md", args.omp
        )
        print(
            f"{len(frames)} frames of {len(frames[0])} atoms, {args.stride * 0.5:g} fs apart "
            f"(xTB MD {time.perf_counter() - start:.0f} s); CP2K {cp2k.version}, {args.method}"
        )
        cold = label_all(Labeller(spec, cp2k, profile, work / "cold"), frames)
        library = WavefunctionLibrary(work / "wfn")
        warm = label_all(Labeller(spec, cp2k, profile, work / "warm", library), frames)
    print(f"{'frame':>5} {'steps atomic':>12} {'steps reuse':>11} {'s atomic':>9} {'s reuse':>8}")
    for k, (c, w) in enumerate(zip(cold, warm, strict=True)):
        print(
            f"{k:>5} {c.total_scf_steps:>12} {w.total_scf_steps:>11} "
            f"{c.wall_time_s:>9.2f} {w.wall_time_s:>8.2f}"
        )
    # the first frame has nothing to reuse in either run: compare the frames after it
    rest_c, rest_w = cold[1:], warm[1:]
    steps_c = statistics.mean(r.total_scf_steps for r in rest_c)
    steps_w = statistics.mean(r.total_scf_steps for r in rest_w)
    wall_c = statistics.mean(r.wall_time_s for r in rest_c)
    wall_w = statistics.mean(r.wall_time_s for r in rest_w)
    print(
        f"frames 1-{len(frames) - 1}: SCF steps {steps_c:.1f} -> {steps_w:.1f} per label "
        f"({steps_c / steps_w:.2f}x fewer), wall {wall_c:.2f} -> {wall_w:.2f} s "
        f"({wall_c / wall_w:.2f}x faster); recorded steps saved "
        f"{sum(r.scf_steps_saved or 0 for r in rest_w)}; rescued "
        f"{rescued(cold)} atomic, {rescued(warm)} reuse"
    )


if __name__ == "__main__":
    main()
