"""Every way a CP2K single point fails, as a recorded class; none of them yields a label."""

from __future__ import annotations

import re
from enum import StrEnum

from wise_al.cp2k.parse import Cp2kOutput
from wise_al.cp2k.run import RunOutcome

_ABORT_IN_INPUT = re.compile(r"\[ABORT\][\s\S]*?\s(?:input|cp_parser)\S*\.F:\d+")
#: From 2024.1 an unconverged SCF aborts (IGNORE_CONVERGENCE_FAILURE defaults to false), in
#: a box raised from qs_scf.F; 2023.x only warned and exited 0.
_ABORT_SCF = re.compile(r"\[ABORT\][\s\S]*?SCF run NOT converged[\s\S]*?\sqs_scf\.F:\d+")


class Failure(StrEnum):
    """Why a calculation produced no label."""

    TIME_LIMIT = "time_limit"  # killed by the launch profile's wall-clock limit
    INVALID_INPUT = "invalid_input"  # CP2K refused the input before computing
    CRASHED = "crashed"  # non-zero exit or killed by a signal during the run
    MISSING_OUTPUT = "missing_output"  # exited 0, but wrote no output file
    TRUNCATED_OUTPUT = "truncated_output"  # output ends before CP2K's final banner
    SCF_NOT_CONVERGED = "scf_not_converged"  # CP2K exits 0 here: read from the text
    NO_FORCES = "no_forces"  # finished, but energy or forces are not in the output
    INVALID_STRUCTURE = "invalid_structure"  # refused before running: NaN, no cell, overlap
    OUT_OF_MEMORY = "out_of_memory"  # the scheduler killed the job for its memory
    NODE_FAILURE = "node_failure"  # the job's node was lost (or it was preempted) every time
    CANCELLED = "cancelled"  # stopped with its campaign (or by the cluster's operator)

    @property
    def cached(self) -> bool:
        """Whether the result stands for its input: a cancelled run or a lost node says
        nothing about the input, and the next try must run it again."""
        return self not in (Failure.CANCELLED, Failure.NODE_FAILURE)


#: Slurm job states that decide the failure whatever the output says.
_SCHEDULER_FAILURES = {
    "OUT_OF_MEMORY": Failure.OUT_OF_MEMORY,
    "NODE_FAIL": Failure.NODE_FAILURE,
    "PREEMPTED": Failure.NODE_FAILURE,
    "BOOT_FAIL": Failure.NODE_FAILURE,
}


def classify_failure(
    outcome: RunOutcome, output: Cp2kOutput | None, output_text: str = ""
) -> Failure | None:
    """The failure class of a run, or None when its energy and forces can become a label."""
    if outcome.cancelled:
        return Failure.CANCELLED
    if outcome.timed_out:
        return Failure.TIME_LIMIT
    if outcome.scheduler_state in _SCHEDULER_FAILURES:
        return _SCHEDULER_FAILURES[outcome.scheduler_state]
    if outcome.returncode != 0:
        # CP2K's abort box names the source file: the input/ tree means it refused the input
        if _ABORT_SCF.search(output_text):
            return Failure.SCF_NOT_CONVERGED  # the rescue ladder may still fix it
        if _ABORT_IN_INPUT.search(output_text):
            return Failure.INVALID_INPUT
        return Failure.CRASHED  # a signal or an abort, with or without output
    if output is None:
        return Failure.MISSING_OUTPUT
    if not output.complete:
        return Failure.TRUNCATED_OUTPUT
    if not output.scf_converged:
        return Failure.SCF_NOT_CONVERGED
    if output.energy_eV is None or output.forces_eV_per_A is None:
        return Failure.NO_FORCES
    return None
