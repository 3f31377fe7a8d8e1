"""One frame to one label: check, run the rescue ladder, keep the wavefunction, record all.

A label lives in its own content-addressed directory of the artifact store (the hash of its
level of theory and its exact CP2K input), with one sub-directory per attempt and a ``result.json``
written last. Labelling the same frame at the same level again returns that result without
running CP2K, which makes a queued labelling task safe to repeat.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from wise_al.atomic_files import write_text_atomic
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.failures import Failure, classify_failure
from wise_al.cp2k.input import Electrons, build_input, frame_charge_e, render_input
from wise_al.cp2k.installation import Cp2kInstallation, detect
from wise_al.cp2k.level import level_of_theory, preflight
from wise_al.cp2k.parse import Cp2kOutput, parse_output
from wise_al.cp2k.rescue import GUESS_WFN, LADDER, Rung, climbs, prepare
from wise_al.cp2k.run import LaunchProfile, run_cp2k
from wise_al.cp2k.slurm import JOB_RECORD, SlurmProfile
from wise_al.cp2k.units import STRESS_CONVENTION
from wise_al.cp2k.wavefunctions import Guess, WavefunctionLibrary
from wise_al.processes import ShouldStop
from wise_al.settings import Cp2kSettings
from wise_al.systems.labelable import structure_problem
from wise_al.systems.levels import sha256_of

RESULT_NAME = "result.json"
PROJECT = "label"


@dataclass
class Attempt:
    """One CP2K run of the ladder."""

    rung: str
    directory: str
    input_sha256: str
    failure: str | None
    scf_steps: int | None
    wall_time_s: float
    job_ids: list[str] = field(default_factory=list)  # Slurm jobs of the run, when it was one


@dataclass
class LabelResult:
    """A label, or why there is none. Numbers are None unless ``failure`` is None."""

    level_of_theory: dict[str, Any]
    level_sha256: str
    directory: str
    failure: str | None = None
    energy_eV: float | None = None
    forces_eV_per_A: list[list[float]] | None = None
    stress_eV_per_A3: list[list[float]] | None = None
    stress_convention: str | None = None  # units.STRESS_CONVENTION once there is a stress
    input_sha256: str | None = None  # of the attempt that produced the numbers
    scf_steps: int | None = None  # of that attempt
    wall_time_s: float = 0.0  # of all attempts
    wfn_guess_from: str | None = None
    wfn_guess_rmsd_A: float | None = None
    scf_steps_saved: int | None = None  # vs the guess chain's start from atomic densities
    attempts: list[Attempt] = field(default_factory=list)
    detail: str | None = None  # why, in words, when the frame was refused unrun

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def total_scf_steps(self) -> int:
        """SCF steps of every attempt, rescues included: what the label cost."""
        return sum(a.scf_steps or 0 for a in self.attempts)

    @classmethod
    def load(cls, path: Path) -> LabelResult:
        """A stored result; one written before stresses were converted comes back converted."""
        data = json.loads(path.read_text())
        data["attempts"] = [Attempt(**a) for a in data["attempts"]]
        result = cls(**data)
        if result.stress_eV_per_A3 is not None and result.stress_convention is None:
            # written with CP2K's sign (compression positive): the only other one ever stored
            result.stress_eV_per_A3 = (-np.asarray(result.stress_eV_per_A3)).tolist()
            result.stress_convention = STRESS_CONVENTION
        return result


class Labeller:
    """Labels frames at one level of theory with one CP2K build and launch profile.

    Parameters
    ----------
    spec
        The campaign's labelling section.
    cp2k
        The installed build (:func:`wise_al.cp2k.installation.detect`).
    profile
        How to launch it.
    store
        Root of the label directories (``<artifact store>/labels``).
    wavefunctions
        Where converged wavefunctions are kept and looked up; None disables reuse.
    """

    def __init__(
        self,
        spec: LabellingSpec,
        cp2k: Cp2kInstallation,
        profile: LaunchProfile,
        store: Path,
        wavefunctions: WavefunctionLibrary | None = None,
    ) -> None:
        self.spec, self.cp2k, self.profile = spec, cp2k, profile
        self.store, self.wavefunctions = store, wavefunctions

    def level(self, atoms: Atoms) -> tuple[dict[str, Any], str]:
        record = level_of_theory(self.spec, atoms.get_chemical_symbols(), self.cp2k)
        return record, sha256_of(record)

    def label(
        self,
        atoms: Atoms,
        on_attempt: Callable[[str], None] | None = None,
        electrons: Electrons | None = None,
        should_stop: ShouldStop | None = None,
    ) -> LabelResult:
        """Label one frame (or return its stored label). Never raises for a failed run.

        ``on_attempt`` is told the name of each rung as it starts (for progress displays);
        ``electrons`` overrides the charge and multiplicity derived from the composition;
        ``should_stop`` is asked while CP2K runs, and a true answer kills the run (failure
        ``cancelled``, not stored: the next try runs it again).

        Raises
        ------
        WiseAlError
            Before running anything, if the level of theory or the input cannot work here.
        """
        preflight(self.spec, atoms.get_chemical_symbols(), self.cp2k)
        record, level_sha = self.level(atoms)
        problem = structure_problem(atoms)
        if problem is not None:
            failed = LabelResult(record, level_sha, "", Failure.INVALID_STRUCTURE.value)
            failed.detail = problem
            return failed
        electrons = electrons or Electrons(frame_charge_e(atoms))
        tree = build_input(self.spec, atoms, project=PROJECT, electrons=electrons)
        # the address is the level (with the code version) and the exact input: structure,
        # charge, spin and every setting; a changed input never reuses an old result
        identity = f"{level_sha}:{render_input(tree)}"
        key = hashlib.sha256(identity.encode()).hexdigest()
        directory = self.store / key[:2] / key
        if (directory / RESULT_NAME).exists():
            return LabelResult.load(directory / RESULT_NAME)
        for rung in LADDER:  # every rung's input is checked before the first run
            self.cp2k.validate(render_input(prepare(tree, rung, has_guess=True)))
        result = LabelResult(record, level_sha, str(directory))
        guess = self.wavefunctions.nearest(level_sha, atoms) if self.wavefunctions else None
        wfn = guess.wfn if guess else None
        first = len(list(directory.glob("attempt-*"))) if directory.exists() else 0
        if first and (directory / f"attempt-{first}" / JOB_RECORD).exists():
            first -= 1  # a Slurm job may still run there for us: re-attach to it
        for number, rung in enumerate(LADDER, start=first + 1):
            if on_attempt is not None:
                on_attempt(rung.value)
            attempt_dir = directory / f"attempt-{number}"
            attempt, output = self._attempt(tree, rung, attempt_dir, wfn, should_stop)
            result.attempts.append(attempt)
            result.wall_time_s += attempt.wall_time_s
            if attempt.failure is None:
                assert output is not None  # classify_failure() fails every run without output
                self._accept(result, atoms, output, attempt_dir, guess)
                break
            failure = Failure(attempt.failure)
            result.failure = failure.value
            last = attempt_dir / f"{PROJECT}-RESTART.wfn"
            wfn = last if last.exists() else wfn
            if not climbs(failure):
                break
        if result.failure is None or Failure(result.failure).cached:
            write_text_atomic(directory / RESULT_NAME, json.dumps(asdict(result)))
        return result

    def _attempt(
        self,
        tree: dict[str, Any],
        rung: Rung,
        attempt_dir: Path,
        wfn: Path | None,
        should_stop: ShouldStop | None = None,
    ) -> tuple[Attempt, Cp2kOutput | None]:
        """One CP2K run of the ladder in its own directory, classified."""
        attempt_dir.mkdir(parents=True, exist_ok=True)  # exists: a Slurm job to re-attach to
        has_guess = wfn is not None and wfn.exists()
        if has_guess:
            assert wfn is not None
            shutil.copyfile(wfn, attempt_dir / GUESS_WFN)
        text = render_input(prepare(tree, rung, has_guess=has_guess))
        outcome = run_cp2k(text, attempt_dir, self.profile, should_stop)
        output_text = outcome.output.read_text(errors="replace") if outcome.output.exists() else ""
        output = parse_output(output_text) if output_text else None
        failure = classify_failure(outcome, output, output_text)
        attempt = Attempt(
            rung=rung.value,
            directory=attempt_dir.name,
            input_sha256=hashlib.sha256(text.encode()).hexdigest(),
            failure=failure.value if failure else None,
            scf_steps=output.scf_steps if output else None,
            wall_time_s=outcome.wall_time_s,
            job_ids=list(outcome.job_ids),
        )
        return attempt, output

    def _accept(
        self,
        result: LabelResult,
        atoms: Atoms,
        output: Cp2kOutput,
        attempt_dir: Path,
        guess: Guess | None,
    ) -> None:
        assert output.energy_eV is not None and output.forces_eV_per_A is not None
        attempt = result.attempts[-1]
        result.failure = None
        result.energy_eV = output.energy_eV
        result.forces_eV_per_A = output.forces_eV_per_A.tolist()
        if output.stress_eV_per_A3 is not None:
            result.stress_eV_per_A3 = output.stress_eV_per_A3.tolist()
            result.stress_convention = STRESS_CONVENTION
        result.input_sha256 = attempt.input_sha256
        result.scf_steps = output.scf_steps
        spent = result.total_scf_steps
        if guess is not None:
            result.wfn_guess_from, result.wfn_guess_rmsd_A = guess.source, guess.rmsd_A
            result.scf_steps_saved = guess.scratch_scf_steps - spent
        wfn = attempt_dir / f"{PROJECT}-RESTART.wfn"
        if self.wavefunctions is not None and wfn.exists():
            scratch = guess.scratch_scf_steps if guess is not None else spent
            self.wavefunctions.add(result.level_sha256, atoms, wfn, scratch, result.directory)


def make_labeller(settings: Cp2kSettings, spec: LabellingSpec, reuse_wfn: bool = True) -> Labeller:
    """The labeller of this machine: its CP2K build, launch profile and artifact store."""
    ranks = settings.cp2k_mpi_ranks or spec.cores
    slurm = None
    if settings.cp2k_launcher == "slurm":
        slurm = SlurmProfile(
            partition=settings.slurm_partition,
            account=settings.slurm_account,
            nodes=settings.slurm_nodes,
            ntasks=ranks,
            cpus_per_task=settings.cp2k_omp_threads,
            setup_lines=tuple(settings.slurm_setup),
            extra_options=tuple(settings.slurm_options),
            mpi_launcher=settings.slurm_mpi_launcher,
            poll_interval_s=settings.slurm_poll_s,
        )
    profile = LaunchProfile(
        binary=settings.cp2k_binary,
        mpi_ranks=ranks,
        omp_threads=settings.cp2k_omp_threads,
        time_limit_s=spec.time_limit_s,
        slurm=slurm,
    )
    cp2k = detect(settings.cp2k_binary, settings.cp2k_cache_dir())
    library = WavefunctionLibrary(settings.wavefunctions_dir()) if reuse_wfn else None
    return Labeller(spec, cp2k, profile, settings.labels_dir(), library)
