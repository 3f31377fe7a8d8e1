"""The validation protocol of ``wise-al validate``: a potential against experiment.

NVT on the structure cell (p64_w170): minimise, equilibrate, produce; Li–O coordination,
X-ray S(q), Li–Li contacts and diffusion come from the production. NPT on the density cell
(p16_w42): density averaged after the first quarter (the benchmark's last 150 of 200 ps).
Every run is a resumable production directory, so a killed validation continues.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from ase import Atoms
from ase.io import read
from pydantic import Field, model_validator

from wise_al.atomic_files import write_structure_atomic
from wise_al.campaign_spec.base import Dispersion, StrictModel
from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.errors import WiseAlError
from wise_al.flags.checker import FlagChecker, broken_run
from wise_al.md.parameters import ProductionParameters
from wise_al.observables.convergence import block_average, running_average
from wise_al.observables.density import densities_g_per_cm3
from wise_al.observables.registry import DEFAULT_THRESHOLDS, ThresholdSet
from wise_al.observables.report import finite_or_none, observe
from wise_al.observables.scores import score_report
from wise_al.observables.structure_factor import SQ_WINDOW_BINS
from wise_al.systems.labelled import structure_sha256

#: A stage of the protocol, for progress reports: (stage, steps done, steps of the stage).
Progress = Callable[[str, int, int], None]
Stage = Literal["nvt_equilibration", "nvt_production", "npt"]
#: Frames kept of the equilibration (its checkpoints are what matters).
EQUILIBRATION_FRAMES = 11


class ValidationProtocol(StrictModel):
    """Lengths and conditions of the protocol (defaults: the benchmark's NPT, our NVT)."""

    temperature_K: Annotated[float, Field(gt=0, le=5000)] = 298.15
    pressure_bar: Annotated[float, Field(ge=-1e5, le=1e5)] = 1.01325
    timestep_fs: Annotated[float, Field(gt=0, le=5)] = 0.5
    minimise_fmax_eV_per_A: Annotated[float, Field(gt=0)] = 0.1
    minimise_max_steps: Annotated[int, Field(ge=0)] = 500
    nvt_equilibration_ps: Annotated[float, Field(ge=0)] = 20.0
    nvt_production_ps: Annotated[float, Field(gt=0)] = 100.0
    nvt_frames: Annotated[int, Field(ge=2)] = 501
    npt_ps: Annotated[float, Field(ge=0)] = 200.0
    npt_discard_ps: Annotated[float, Field(ge=0)] = 50.0
    npt_frames: Annotated[int, Field(ge=2)] = 401
    dispersion: Dispersion = "none"
    dispersion_functional: Annotated[str, Field(pattern=r"^[A-Za-z0-9_+-]{1,32}$")] = "pbe"
    sq_window: Annotated[int, Field(ge=3, le=201)] = SQ_WINDOW_BINS
    thresholds: ThresholdSet = DEFAULT_THRESHOLDS

    @model_validator(mode="after")
    def _consistent(self) -> ValidationProtocol:
        if self.npt_ps and self.npt_discard_ps >= self.npt_ps:
            raise ValueError(
                f"npt_discard_ps ({self.npt_discard_ps}) leaves nothing of npt_ps ({self.npt_ps})"
            )
        if self.sq_window % 2 == 0:
            raise ValueError(f"sq_window ({self.sq_window}) must be odd")
        for name in ("nvt_production_ps", "npt_ps"):
            frames = self.nvt_frames if name.startswith("nvt") else self.npt_frames
            if getattr(self, name) and self._steps(getattr(self, name)) < frames - 1:
                raise ValueError(f"{name} is shorter than one time step per saved frame")
        return self

    def _steps(self, ps: float) -> int:
        return round(ps * 1000 / self.timestep_fs)

    def run(self, stage: Stage) -> ProductionParameters:
        """The production parameters of one stage: its length cut to whole save intervals,
        a checkpoint every 10 saved frames."""
        ps, frames = {
            "nvt_equilibration": (self.nvt_equilibration_ps, EQUILIBRATION_FRAMES),
            "nvt_production": (self.nvt_production_ps, self.nvt_frames),
            "npt": (self.npt_ps, self.npt_frames),
        }[stage]
        save = max(1, self._steps(ps) // (frames - 1))
        return ProductionParameters(
            ensemble="NPT" if stage == "npt" else "NVT",
            temperature_K=self.temperature_K,
            pressure_bar=self.pressure_bar,
            timestep_fs=self.timestep_fs,
            steps=save * (frames - 1),
            save_interval_steps=save,
            checkpoint_interval_steps=10 * save,
            dispersion=self.dispersion,
            dispersion_functional=self.dispersion_functional,
        )


@dataclass(frozen=True)
class ProtocolResult:
    """Observables of the protocol's runs, their scores, and where the runs are."""

    report: dict[str, Any]
    scores: list[dict[str, Any]]
    directories: dict[str, str]


def run_protocol(
    model_paths: Sequence[Path],
    nvt_cell: Atoms,
    npt_cell: Atoms | None,
    protocol: ValidationProtocol,
    directory: Path,
    *,
    device: str = "auto",
    on_progress: Progress | None = None,
) -> ProtocolResult:
    """Run (or resume) the protocol in ``directory`` and score it against experiment."""
    from wise_al.mace.committee import Committee
    from wise_al.md.production import last_state
    from wise_al.md.relax import relax_start
    from wise_al.md.run import run_with_models

    committee = Committee(model_paths, device=device, min_members=1)

    def minimised(cell: Atoms, name: str) -> Atoms:
        # kept beside the runs: a resumed protocol starts its runs from the very same atoms
        path = directory / f"{name}-minimised.extxyz"
        source = structure_sha256(cell)
        if path.exists():
            kept = read(path)
            assert isinstance(kept, Atoms)
            if kept.info.get("source_sha256") != source:
                raise WiseAlError(f"{directory} holds a protocol run on another {name} cell")
            return kept
        relaxed = cell
        if protocol.minimise_max_steps:
            relaxed, _ = relax_start(
                cell, committee, protocol.minimise_fmax_eV_per_A, protocol.minimise_max_steps
            )
        relaxed.info["source_sha256"] = source
        directory.mkdir(parents=True, exist_ok=True)
        return write_structure_atomic(path, relaxed)

    def stage(name: Stage, start: Atoms, parameters: ProductionParameters) -> Path:
        run_dir = directory / name.replace("_", "-")
        progress = (lambda step: on_progress(name, step, parameters.steps)) if on_progress else None
        run_with_models(
            start, model_paths, parameters, run_dir, device=device, on_progress=progress
        )
        return run_dir

    directories: dict[Stage, Path] = {}
    start = minimised(nvt_cell, "nvt")
    if protocol.nvt_equilibration_ps:
        directories["nvt_equilibration"] = stage(
            "nvt_equilibration", start, protocol.run("nvt_equilibration")
        )
        start = last_state(directories["nvt_equilibration"])
    directories["nvt_production"] = stage("nvt_production", start, protocol.run("nvt_production"))
    frames = read(directories["nvt_production"] / "trajectory.extxyz", ":")
    assert isinstance(frames, list)
    interval_fs = protocol.run("nvt_production").save_interval_steps * protocol.timestep_fs
    report = observe(
        frames, frame_interval_fs=interval_fs, sq_window=protocol.sq_window, ensemble="NVT"
    )
    report |= broken_run(frames, FlagChecker(FlagsSpec(), frames[0], protocol.temperature_K))
    report["density_source"] = "NVT cell (no NPT run)"
    if npt_cell is not None and protocol.npt_ps:
        directories["npt"] = stage("npt", minimised(npt_cell, "npt"), protocol.run("npt"))
        npt = read(directories["npt"] / "trajectory.extxyz", ":")
        assert isinstance(npt, list)
        times_ps = np.array([float(f.info["time_ps"]) for f in npt])
        series = densities_g_per_cm3(npt)
        averaged = series[times_ps >= protocol.npt_discard_ps]
        blocks = block_average(averaged, blocks=5) if len(averaged) >= 10 else None
        report |= {
            "density_g_per_cm3": float(np.mean(averaged)),
            "density_stderr_g_per_cm3": None if blocks is None else blocks.stderr,
            # the NPT run's own clock: time_ps stays the NVT production's (CN convergence)
            "density_time_ps": times_ps.tolist(),
            "density_series_g_per_cm3": series.round(5).tolist(),
            "density_running_g_per_cm3": running_average(series).round(5).tolist(),
            "density_source": f"NPT, after the first {protocol.npt_discard_ps:g} ps",
            "density_ensemble": "NPT",
        }
    report = finite_or_none(report)
    return ProtocolResult(
        report,
        score_report(report, protocol.thresholds),
        {k: str(v) for k, v in directories.items()},
    )
