"""One exploration walker: MD on the committee, saving annotated frames, stopping early.

Frames are appended to the trajectory as they are saved, so a crash keeps what was
explored; when flags say the dynamics went unphysical the walker stops right after saving
the frame that shows it (those are the most valuable frames to label).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from ase import Atoms, units
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.md import MolecularDynamics
from ase.md.nptberendsen import NPTBerendsen
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from wise_al.exploration.frames import SavedFrame
from wise_al.flags import FlagChecker
from wise_al.mace.calculator import CommitteeCalculator
from wise_al.mace.committee import Committee
from wise_al.uncertainty import Deviation

#: Isothermal compressibility of water, 4.6e-5 1/bar: sets NPT's barostat response.
WATER_COMPRESSIBILITY_PER_BAR = 4.6e-5


@dataclass(frozen=True)
class WalkerSettings:
    """MD settings of one walker (from the campaign spec's exploration and walker sections)."""

    temperature_K: float
    steps: int
    timestep_fs: float = 0.5
    save_interval_steps: int = 10
    ensemble: Literal["NVT", "NPT"] = "NVT"
    pressure_bar: float = 1.01325
    friction_per_fs: float = 0.01
    driver: Literal["committee_mean", "member"] = "committee_mean"
    seed: int = 0
    early_stop_on_flags: bool = True
    trust_lo_eV_per_A: float = 0.05
    trust_hi_eV_per_A: float = 0.15


@dataclass
class WalkerResult:
    """What a walker explored."""

    frames: list[SavedFrame] = field(default_factory=list)
    steps_done: int = 0
    stop_reason: str | None = None

    @property
    def stopped_early(self) -> bool:
        return self.stop_reason is not None


class _StopWalker(Exception):
    """Raised by the observer to end the run right after the frame that shows the problem."""


def _integrator(atoms: Atoms, settings: WalkerSettings) -> MolecularDynamics:
    timestep = settings.timestep_fs * units.fs
    rng = np.random.default_rng(settings.seed)
    if settings.ensemble == "NPT":
        if not atoms.pbc.all():
            raise ValueError("NPT needs a periodic cell")
        return NPTBerendsen(
            atoms,
            timestep,
            temperature_K=settings.temperature_K,
            pressure_au=settings.pressure_bar * units.bar,
            taut=100 * units.fs,
            taup=1000 * units.fs,
            compressibility_au=WATER_COMPRESSIBILITY_PER_BAR / units.bar,
            fixcm=False,
        )
    return Langevin(
        atoms,
        timestep,
        temperature_K=settings.temperature_K,
        friction=settings.friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )


def prepare_start(start: Atoms, settings: WalkerSettings) -> Atoms:
    """A copy of ``start`` ready for MD: no reference labels, momenta at the temperature."""
    atoms = start.copy()
    # reference labels of the start structure do not describe the frames MD will reach
    for key in [k for k in atoms.info if k.startswith("REF_")]:
        del atoms.info[key]
    for key in [k for k in atoms.arrays if k.startswith("REF_")]:
        del atoms.arrays[key]
    if not atoms.get_momenta().any():
        thermalize_momenta(atoms, settings.temperature_K, rng=np.random.default_rng(settings.seed))
        Stationary(atoms)
    return atoms


def record_frame(
    step: int,
    atoms: Atoms,
    deviation: Deviation,
    settings: WalkerSettings,
    flag_checker: FlagChecker,
    result: WalkerResult,
    trajectory: Path | None,
) -> bool:
    """Judge, keep and write one saved frame; True when the walker must stop here."""
    frame = SavedFrame(
        step=step,
        atoms=atoms.copy(),
        deviation=deviation,
        frame_class=deviation.classify(settings.trust_lo_eV_per_A, settings.trust_hi_eV_per_A),
        flags=tuple(flag_checker.check(atoms)),
    )
    result.frames.append(frame)
    result.steps_done = step
    if trajectory is not None:
        write(trajectory, frame.annotated(), format="extxyz", append=True)
    if settings.early_stop_on_flags and frame.unphysical:
        kinds = sorted({f.kind for f in frame.flags})
        result.stop_reason = f"step {step}: unphysical frame ({', '.join(kinds)})"
        return True
    return False


def run_walker(
    start: Atoms,
    committee: Committee,
    settings: WalkerSettings,
    flag_checker: FlagChecker,
    trajectory: Path | None = None,
    on_step: Callable[[int], None] | None = None,
) -> WalkerResult:
    """Run MD from ``start`` on the committee and return the saved, annotated frames.

    Parameters
    ----------
    start
        Starting structure (momenta are drawn at the target temperature unless present).
    committee
        The committee that drives the MD and judges each saved frame.
    settings
        Ensemble, temperature, steps, save interval, seed, trust window.
    flag_checker
        Physics flags, configured on the starting frame.
    trajectory
        extxyz file the frames are appended to as they are saved.
    on_step
        Called with the number of steps done after each saved frame (progress bars).
    """
    atoms = prepare_start(start, settings)
    atoms.calc = CommitteeCalculator(committee, driver=settings.driver)
    dynamics = _integrator(atoms, settings)
    result = WalkerResult()
    if trajectory is not None:
        trajectory.unlink(missing_ok=True)

    def observe() -> None:
        step = dynamics.nsteps
        if step == 0:
            return
        atoms.get_forces()  # cached: the integrator evaluated this geometry already
        deviation: Deviation = atoms.calc.results["deviation"]
        if record_frame(step, atoms, deviation, settings, flag_checker, result, trajectory):
            raise _StopWalker
        if on_step is not None:
            on_step(step)

    dynamics.attach(observe, interval=settings.save_interval_steps)
    try:
        dynamics.run(settings.steps)
        result.steps_done = settings.steps
    except _StopWalker:
        pass
    except FloatingPointError as exc:
        result.stop_reason = f"step {dynamics.nsteps}: the dynamics blew up ({exc})"
    return result
