"""One production MD run in a directory: trajectory, checkpoints, record; resumable.

The directory holds ``run.json`` (parameters and what drives the run), ``trajectory.extxyz``
(one frame every ``save_interval_steps``, step 0 included, positions unwrapped) and
``checkpoint.npz``. Calling :func:`run_production` again on the same directory resumes at
the last checkpoint and leaves one continuous trajectory with every frame once; a larger
``steps`` extends a finished run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import BaseCalculator
from ase.calculators.mixing import LinearCombinationCalculator
from ase.io import write
from ase.md.md import MolecularDynamics
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from wise_al.atomic_files import write_text_atomic
from wise_al.errors import WiseAlError
from wise_al.mace.calculator import CommitteeCalculator
from wise_al.md.checkpoint import Checkpoint
from wise_al.md.integrators import integrator_state, make_integrator, restore_state
from wise_al.md.parameters import ProductionParameters
from wise_al.systems.labelled import structure_sha256

RECORD = "run.json"
TRAJECTORY = "trajectory.extxyz"
CHECKPOINT = "checkpoint.npz"


@dataclass(frozen=True)
class ProductionResult:
    """What a call to :func:`run_production` left in its directory."""

    directory: Path
    steps_done: int
    frames: int
    resumed_from_step: int | None

    @property
    def trajectory(self) -> Path:
        return self.directory / TRAJECTORY


def _start_atoms(start: Atoms, parameters: ProductionParameters) -> Atoms:
    atoms = Atoms(start.numbers, start.positions, cell=start.cell, pbc=start.pbc)
    if start.has("momenta") and start.get_momenta().any():
        atoms.set_momenta(start.get_momenta())  # continuing a previous run keeps its velocities
    else:
        thermalize_momenta(
            atoms, parameters.temperature_K, rng=np.random.default_rng(parameters.seed)
        )
        Stationary(atoms)
    if not np.isfinite(atoms.positions).all():
        raise WiseAlError("the start structure has NaN or infinite positions")
    return atoms


def _check_record(directory: Path, record: dict[str, Any]) -> bool:
    """Check that the directory holds no run or this very run; True if it holds this run."""
    path = directory / RECORD
    if not path.exists():
        return False
    stored = json.loads(path.read_text())
    before = ProductionParameters.model_validate(stored["parameters"])
    now = ProductionParameters.model_validate(record["parameters"])
    if not before.same_run_as(now):
        previous = before.model_dump()
        changed = sorted(
            k for k, v in now.model_dump(exclude={"steps"}).items() if previous[k] != v
        )
        raise WiseAlError(
            f"{directory} holds another run ({', '.join(changed)} differ): "
            "use a new directory, or continue from this one"
        )
    for key in ("driven_by", "start_sha256"):
        if stored.get(key) != record.get(key):
            raise WiseAlError(f"{directory} holds another run ({key} differs)")
    return True


def _frame(atoms: Atoms, dynamics: MolecularDynamics, parameters: ProductionParameters) -> Atoms:
    """The saved frame: positions, cell and scalar observables; no forces (small files)."""
    frame = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    step = dynamics.nsteps
    frame.info.update(
        step=step,
        time_ps=step * parameters.timestep_fs / 1000,
        temperature_K=float(atoms.get_temperature()),
        potential_energy_eV=float(atoms.get_potential_energy()),
        conserved_energy_eV=float(dynamics.get_conserved_energy()),  # type: ignore[attr-defined]
        volume_A3=float(atoms.get_volume()) if atoms.pbc.all() else float("nan"),
    )
    if parameters.ensemble == "NPT":  # the stress of this geometry is computed already
        stress = atoms.get_stress(voigt=False, include_ideal_gas=True)
        frame.info["pressure_bar"] = float(-np.trace(stress) / 3 / units.bar)
    committee = _committee_calculator(atoms.calc)
    if committee is not None and len(committee.committee) > 1:
        deviation = committee.committee_deviation()  # other members: saved frames only
        frame.info["force_deviation_max_eV_per_A"] = float(deviation.max_eV_per_A)
    return frame


def _committee_calculator(calculator: BaseCalculator | None) -> CommitteeCalculator | None:
    """The committee inside ``calculator`` (itself, or a term of a sum with D3)."""
    inner = (
        calculator.mixer.calcs
        if isinstance(calculator, LinearCombinationCalculator)
        else [calculator]
    )
    return next((c for c in inner if isinstance(c, CommitteeCalculator)), None)


def run_production(
    start: Atoms,
    calculator: BaseCalculator,
    parameters: ProductionParameters,
    directory: Path,
    *,
    driven_by: dict[str, Any],
    on_progress: Callable[[int], None] | None = None,
) -> ProductionResult:
    """Run, or resume, production MD in ``directory``.

    Parameters
    ----------
    start
        Start structure; its momenta are kept when present, else drawn at the temperature.
    calculator
        What moves the atoms (a :class:`CommitteeCalculator`, possibly summed with D3).
    parameters
        Ensemble, lengths, intervals.
    directory
        Where the run lives; an existing run of the same parameters is resumed.
    driven_by
        What drives the run (models and their hashes, driver, dispersion), recorded and
        checked on resume.
    on_progress
        Called with the steps done after each saved frame.
    """
    directory.mkdir(parents=True, exist_ok=True)
    record = {
        "parameters": parameters.model_dump(),
        "driven_by": driven_by,
        "start_sha256": structure_sha256(start),
        "n_atoms": len(start),
    }
    resuming = _check_record(directory, record)
    trajectory, checkpoint_path = directory / TRAJECTORY, directory / CHECKPOINT
    atoms = _start_atoms(start, parameters)
    atoms.calc = calculator
    dynamics = make_integrator(atoms, parameters)
    frames, resumed_from = 0, None
    if resuming and checkpoint_path.exists():
        checkpoint = Checkpoint.load(checkpoint_path)
        if checkpoint.step > parameters.steps:
            raise WiseAlError(
                f"{directory} already ran {checkpoint.step} steps, "
                f"more than the {parameters.steps} asked"
            )
        restore_state(dynamics, checkpoint.state)
        dynamics.nsteps = resumed_from = checkpoint.step
        frames = checkpoint.frames
        with trajectory.open("r+b") as handle:  # drop frames written after the checkpoint
            handle.truncate(checkpoint.trajectory_bytes)
    else:
        trajectory.unlink(missing_ok=True)  # killed before its first checkpoint: start over
    # written once the run is known to go ahead (a refused call changes nothing); a resumed
    # run's steps may have grown
    write_text_atomic(directory / RECORD, json.dumps(record, indent=2, sort_keys=True))

    def observe() -> None:
        nonlocal frames
        step = dynamics.nsteps
        if step % parameters.save_interval_steps == 0:
            write(trajectory, _frame(atoms, dynamics, parameters), format="extxyz", append=True)
            frames += 1
            if on_progress is not None:
                on_progress(step)
        if step % parameters.checkpoint_interval_steps == 0 or step == parameters.steps:
            size = trajectory.stat().st_size
            Checkpoint(step, frames, size, integrator_state(dynamics), atoms.copy()).save(
                checkpoint_path
            )

    dynamics.attach(observe, interval=1)
    remaining = parameters.steps - dynamics.nsteps
    if remaining > 0:
        dynamics.run(remaining)
    return ProductionResult(directory, dynamics.nsteps, frames, resumed_from)


def last_state(directory: Path) -> Atoms:
    """The atoms, with momenta, at the last checkpoint of the run in ``directory``."""
    path = directory / CHECKPOINT
    if not path.is_file():
        raise WiseAlError(f"{directory}: no checkpoint of a production run to continue from")
    return Checkpoint.load(path).atoms
