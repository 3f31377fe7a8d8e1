"""One exploration walker: MD on the committee, saving annotated frames, stopping early.

Frames are appended to the trajectory as they are saved, so a crash keeps what was
explored; when flags say the dynamics went unphysical the walker stops right after saving
the frame that shows it (those are the most valuable frames to label).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.md import MolecularDynamics
from ase.md.nptberendsen import NPTBerendsen
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from wise_al.campaign_spec.base import Dispersion, Driver, Ensemble
from wise_al.campaign_spec.exploration import ExplorationSpec, UncertaintySpec
from wise_al.exploration.frames import SavedFrame
from wise_al.flags import FlagChecker
from wise_al.mace.calculator import CommitteeCalculator
from wise_al.mace.committee import Committee
from wise_al.md.dispersion import add_dispersion
from wise_al.processes import ShouldStop, Stopped
from wise_al.uncertainty import Deviation, classify_deviation

#: Isothermal compressibility of water, 4.6e-5 1/bar: sets NPT's barostat response.
WATER_COMPRESSIBILITY_PER_BAR = 4.6e-5


@dataclass(frozen=True)
class WalkerParameters:
    """MD settings of one walker (from the campaign spec's exploration and walker sections)."""

    temperature_K: float
    steps: int
    timestep_fs: float = 0.5
    save_interval_steps: int = 10
    ensemble: Ensemble = "NVT"
    pressure_bar: float = 1.01325
    friction_per_fs: float = 0.01
    driver: Driver = "committee_mean"
    seed: int = 0
    early_stop_on_flags: bool = True
    trust_lo_eV_per_A: float = 0.05
    trust_hi_eV_per_A: float = 0.15
    #: D3 added to the driving forces at MD time (the committee's deviation is D3's-free:
    #: D3 is the same for every member)
    dispersion: Dispersion = "none"
    dispersion_functional: str = "pbe"

    @classmethod
    def from_spec(
        cls,
        exploration: ExplorationSpec,
        window: UncertaintySpec,
        *,
        temperature_K: float,
        pressure_bar: float,
        steps: int,
        seed: int,
        sigma_scale: float = 1.0,
    ) -> WalkerParameters:
        """One walker of a campaign: the spec's exploration settings at its conditions. The
        trust window applies to the deviation scaled by the calibration (``sigma_scale``):
        σ·s < lo ⟺ σ < lo/s, so its edges are divided here."""
        return cls(
            temperature_K=temperature_K,
            steps=steps,
            timestep_fs=exploration.timestep_fs,
            save_interval_steps=exploration.save_interval_steps,
            ensemble=exploration.ensemble,
            pressure_bar=pressure_bar,
            friction_per_fs=exploration.friction_per_fs,
            driver=exploration.driver,
            seed=seed,
            early_stop_on_flags=exploration.early_stop_on_flags,
            trust_lo_eV_per_A=window.trust_lo_eV_per_A / sigma_scale,
            trust_hi_eV_per_A=window.trust_hi_eV_per_A / sigma_scale,
            dispersion=exploration.dispersion,
            dispersion_functional=exploration.dispersion_functional,
        )


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


def _integrator(atoms: Atoms, settings: WalkerParameters) -> MolecularDynamics:
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


def prepare_start(start: Atoms, settings: WalkerParameters) -> Atoms:
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


def judge_frame(
    step: int,
    atoms: Atoms,
    deviation: Deviation,
    settings: WalkerParameters,
    flag_checker: FlagChecker,
) -> SavedFrame:
    """One saved frame with its committee class and physics flags."""
    return SavedFrame(
        step=step,
        atoms=atoms.copy(),
        deviation=deviation,
        frame_class=classify_deviation(
            deviation.max_eV_per_A, settings.trust_lo_eV_per_A, settings.trust_hi_eV_per_A
        ),
        flags=tuple(flag_checker.check(atoms)),
    )


def write_frame(trajectory: Path, frame: SavedFrame) -> None:
    """Append a saved frame, with its annotations, to the walker's extxyz trajectory."""
    write(trajectory, frame.annotated(), format="extxyz", append=True)


def stop_reason(frame: SavedFrame, settings: WalkerParameters) -> str | None:
    """Why the walker must stop at this frame (it left physical space), or None."""
    if settings.early_stop_on_flags and frame.unphysical:
        first = frame.breaking_flags[0]
        return f"step {frame.step}: unphysical frame ({first.kind}: {first.message})"
    return None


def record_frame(
    step: int,
    atoms: Atoms,
    deviation: Deviation,
    settings: WalkerParameters,
    flag_checker: FlagChecker,
    result: WalkerResult,
    trajectory: Path | None,
) -> bool:
    """Judge, keep and write one saved frame; True when the walker must stop here."""
    frame = judge_frame(step, atoms, deviation, settings, flag_checker)
    result.frames.append(frame)
    result.steps_done = step
    if trajectory is not None:
        write_frame(trajectory, frame)
    result.stop_reason = stop_reason(frame, settings)
    return result.stop_reason is not None


def run_walker(
    start: Atoms,
    committee: Committee,
    settings: WalkerParameters,
    flag_checker: FlagChecker,
    trajectory: Path | None = None,
    on_step: Callable[[int], None] | None = None,
    should_stop: ShouldStop | None = None,
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
    should_stop
        Asked at every saved frame; a true answer raises :class:`~wise_al.processes.Stopped`
        (the trajectory written so far is the caller's to discard).
    """
    atoms = prepare_start(start, settings)
    committee_calc = CommitteeCalculator(committee, driver=settings.driver)
    atoms.calc = add_dispersion(committee_calc, settings.dispersion, settings.dispersion_functional)
    dynamics = _integrator(atoms, settings)
    result = WalkerResult()
    if trajectory is not None:
        trajectory.unlink(missing_ok=True)

    def fresh() -> SavedFrame | None:
        # the frame judged at this very step (observers also run at step 0, before any)
        last = result.frames[-1] if result.frames else None
        return last if last is not None and last.step == dynamics.nsteps else None

    def judge() -> None:
        if dynamics.nsteps == 0:
            return
        atoms.get_forces()  # cached: the integrator evaluated this geometry already
        # under driver "member" only this asks the other members: one model per step
        deviation: Deviation = committee_calc.committee_deviation()
        result.frames.append(judge_frame(dynamics.nsteps, atoms, deviation, settings, flag_checker))
        result.steps_done = dynamics.nsteps

    def keep() -> None:
        frame = fresh()
        if frame is not None and trajectory is not None:
            write_frame(trajectory, frame)

    def stop() -> None:
        if should_stop is not None and should_stop():
            raise Stopped(f"asked to stop at step {dynamics.nsteps}")
        frame = fresh()
        if frame is not None:
            result.stop_reason = stop_reason(frame, settings)
            if result.stop_reason is not None:
                raise _StopWalker

    def report() -> None:
        if on_step is not None and fresh() is not None:
            on_step(dynamics.nsteps)

    # separate observers, called in this order at every save interval (ASE's attach)
    for observer in (judge, keep, stop, report):
        dynamics.attach(observer, interval=settings.save_interval_steps)
    try:
        dynamics.run(settings.steps)
        result.steps_done = settings.steps
    except _StopWalker:
        pass
    except FloatingPointError as exc:
        result.stop_reason = f"step {dynamics.nsteps}: the dynamics blew up ({exc})"
    return result
