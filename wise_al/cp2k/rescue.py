"""The SCF rescue ladder: each rung is a change to the input, never to the level of theory.

1. ``initial``: the spec's settings, started from the nearest converged wavefunction when
   there is one (:mod:`wise_al.cp2k.wavefunctions`), else from atomic densities.
2. ``restart``: the same settings, continued from the wavefunction the failed attempt left.
3. ``robust``: continued again, with a slower but steadier solver and twice the SCF steps:
   conjugate gradients with a line search for OT, gentler density mixing for
   diagonalisation.

After the last rung the frame is failed. Only SCF non-convergence climbs the ladder: a time
limit, a crash or invalid input would fail the same way again.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

from wise_al.cp2k.failures import Failure

#: File name, inside an attempt's directory, of the wavefunction it starts from.
GUESS_WFN = "guess.wfn"


class Rung(StrEnum):
    """A step of the ladder, in order."""

    INITIAL = "initial"
    RESTART = "restart"
    ROBUST = "robust"


LADDER: tuple[Rung, ...] = tuple(Rung)


def climbs(failure: Failure | None) -> bool:
    """Whether a failure is one the next rung may fix."""
    return failure is Failure.SCF_NOT_CONVERGED


def prepare(tree: dict[str, Any], rung: Rung, has_guess: bool) -> dict[str, Any]:
    """The input of one rung: a copy of ``tree`` with its SCF guess and solver set.

    Parameters
    ----------
    tree
        The label's input (:func:`wise_al.cp2k.input.build_input`).
    rung
        Which rung.
    has_guess
        Whether :data:`GUESS_WFN` will be in the attempt's directory.
    """
    out = copy.deepcopy(tree)
    dft = out["force_eval"]["dft"]
    scf = dft["scf"]
    if has_guess:
        scf["scf_guess"] = "RESTART"
        dft["wfn_restart_file_name"] = GUESS_WFN
    if rung is Rung.ROBUST:
        scf["max_scf"] = 2 * int(scf["max_scf"])
        if "ot" in scf:  # conjugate gradients with a 3-point line search: slower, steadier
            scf["ot"] = {**scf["ot"], "minimizer": "CG", "linesearch": "3PNT"}
        else:  # diagonalisation (an override may choose it): gentler density mixing
            scf["mixing"] = {"method": "DIRECT_P_MIXING", "alpha": 0.1}
    return out
