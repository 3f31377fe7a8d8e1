"""Several NVT walkers stepped in lockstep through one batched committee pass per step.

Each walker integrates Langevin dynamics with the BAOAB splitting (Leimkuhler & Matthews,
2013); the force evaluations of all live walkers at a step are one ``Committee.predict``
call. Walkers driven by member 0 evaluate it alone between saved frames. Whether that
beats walkers one after another depends on the device: on a 2-core CPU it does not
(benchmarks/committee_md.py); on a GPU a bigger batch fills the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units

from wise_al.exploration.walker import WalkerParameters, WalkerResult, prepare_start, record_frame
from wise_al.flags import FlagChecker
from wise_al.mace.committee import Committee
from wise_al.uncertainty import Deviation, frame_deviation


@dataclass
class _Walker:
    atoms: Atoms
    settings: WalkerParameters
    checker: FlagChecker
    trajectory: Path | None
    rng: np.random.Generator
    result: WalkerResult
    forces: np.ndarray
    live: bool = True


def run_walkers_lockstep(
    starts: list[Atoms],
    committee: Committee,
    settings: list[WalkerParameters],
    checkers: list[FlagChecker],
    trajectories: list[Path | None] | None = None,
) -> list[WalkerResult]:
    """Run NVT walkers side by side; returns one result per walker, in order.

    All walkers must share ``timestep_fs``, ``steps`` and ``save_interval_steps`` (their
    temperatures, seeds and starting structures may differ). A walker that stops early
    leaves the batch; the others go on.
    """
    if not starts:
        return []
    first = settings[0]
    for s in settings:
        if s.ensemble != "NVT":
            raise ValueError("lockstep walkers are NVT only")
        if (s.timestep_fs, s.steps, s.save_interval_steps) != (
            first.timestep_fs,
            first.steps,
            first.save_interval_steps,
        ):
            raise ValueError("lockstep walkers share timestep, steps and save interval")
    paths = trajectories or [None] * len(starts)
    walkers = []
    for start, s, checker, path in zip(starts, settings, checkers, paths, strict=True):
        if path is not None:
            path.unlink(missing_ok=True)
        walkers.append(
            _Walker(
                prepare_start(start, s),
                s,
                checker,
                path,
                np.random.default_rng(s.seed + 1),
                WalkerResult(),
                np.empty(0),
            )
        )
    # a batch driven by member 0 alone needs the other members only on saved frames
    member_driven = all(s.driver == "member" for s in settings)
    _evaluate(committee, walkers, driver_only=False)
    dt = first.timestep_fs * units.fs
    for step in range(1, first.steps + 1):
        live = [w for w in walkers if w.live]
        if not live:
            break
        for w in live:  # B A O A
            masses = w.atoms.get_masses()[:, None]
            velocities = w.atoms.get_velocities() + 0.5 * dt * w.forces / masses
            positions = w.atoms.positions + 0.5 * dt * velocities
            c1 = np.exp(-w.settings.friction_per_fs / units.fs * dt)
            thermal = np.sqrt(units.kB * w.settings.temperature_K / masses)
            velocities = c1 * velocities + np.sqrt(1 - c1**2) * thermal * w.rng.standard_normal(
                velocities.shape
            )
            w.atoms.positions = positions + 0.5 * dt * velocities
            w.atoms.set_velocities(velocities)
        saving = step % first.save_interval_steps == 0
        predictions = _evaluate(committee, live, driver_only=member_driven and not saving)
        for w, (energies, forces) in zip(live, predictions, strict=True):  # B
            masses = w.atoms.get_masses()[:, None]
            w.atoms.set_velocities(w.atoms.get_velocities() + 0.5 * dt * w.forces / masses)
            if saving:
                deviation = (  # one model (the foundation alone) has no spread
                    frame_deviation(energies, forces)
                    if len(energies) > 1
                    else Deviation.unjudged(forces.shape[1])
                )
                stop = record_frame(
                    step, w.atoms, deviation, w.settings, w.checker, w.result, w.trajectory
                )
                w.live = not stop
    for w in walkers:
        if w.live:
            w.result.steps_done = first.steps
    return [w.result for w in walkers]


def _evaluate(
    committee: Committee, walkers: list[_Walker], driver_only: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One batched pass over every walker (member 0 alone when ``driver_only``); sets each
    walker's driving force and returns each walker's (energies, forces) of the members run."""
    prediction = committee.predict([w.atoms for w in walkers], members=[0] if driver_only else None)
    members = []
    for k, w in enumerate(walkers):
        energies, forces = prediction.energies_eV[:, k], prediction.forces_eV_per_A[k]
        w.forces = forces[0] if w.settings.driver == "member" else forces.mean(axis=0)
        members.append((energies, forces))
    return members
