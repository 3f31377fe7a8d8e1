"""Fitting a model on an arm's labels, and what it is judged by.

- **Force errors** on the contact set and the random set (:func:`wise_al.mace.evaluate`).
- **Survival**: NVT MD of the model from each fixed start, first relaxed on the model itself
  as the product's validation relaxes its cell on the committee it validates (a model with a
  spurious Li⁺–Li⁺ well pulls the pair in while it relaxes); the product's walker, one model
  driving. A run fails at the first saved frame that breaks it, with the Li–Li
  limit at :data:`SURVIVAL_LI_LI_A`. A model **passes** when every run reaches its end
  intact: no Li⁺ pair under the limit, and no other break (a run that broke otherwise
  cannot show the contacts gone). The share of MD time before the first break is the
  physical share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from benchmarks.label_efficiency import fine_tune
from benchmarks.label_efficiency.truth import TIMESTEP_FS
from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.campaign_spec.model import TrainingSpec
from wise_al.cli.demo_foundation import DEMO_TRAINING
from wise_al.exploration.walker import WalkerParameters, run_walker
from wise_al.flags import FlagChecker
from wise_al.mace.committee import Committee
from wise_al.mace.evaluate import evaluate
from wise_al.mace.fit import fit_committee
from wise_al.md.relax import relax_start
from wise_al.observables.contacts import closest_li_li_A

#: Two Li⁺ closer than this end a survival run unless told otherwise (``--survival-li-li-A``):
#: a fusion, not yet the product's contact flag (2.6 Å).
SURVIVAL_LI_LI_A = 2.2
#: Where the survival runs start (``--survival-from``); either is relaxed on the model first.
SURVIVAL_STARTS = {
    "packed": "packmol cells (seeds 0, 1, ...), as the product's validation starts",
    "reference": "frames of the reference MD, evenly spaced, never in the random set",
}
#: Labels held out of each fit to pick its best epoch.
VALID_FRACTION = 0.15


#: How the arms fine-tune: the demo's model size and batch, the product's learning rate and
#: EMA for naive fine-tuning (1e-3, 0.99: at 1e-2 a few labels make it forget the rest).
ARM_TRAINING = DEMO_TRAINING.model_copy(update={"learning_rate": None})

#: How a fit runs: in this process (default) or with mace's own trainer, as the product does.
FITTERS = ("in-process", "mace")


@dataclass(frozen=True)
class Fitter:
    """Fine-tunes from the failing model with one training spec; only the seed varies.
    Every fit takes ``gradient_steps`` optimiser steps whatever the number of labels: with a
    fixed number of epochs a 4-label fit would barely move and a 64-label fit cost sixteen
    times as much. ``method`` ``mace`` runs mace's trainer (epochs = steps / batches per
    epoch, best epoch on a held-out share, ``e0s`` passed to it), ``in-process``
    :func:`fine_tune.fine_tune` (the start model's own E0s are kept)."""

    start_model: Path
    e0s: dict[int, float]
    gradient_steps: int
    work: Path
    method: str = "in-process"
    training: TrainingSpec = field(default_factory=lambda: ARM_TRAINING)

    def epochs(self, labels: int) -> int:
        train = max(1, labels - math.ceil(VALID_FRACTION * labels))
        batches = max(1, train // self.training.batch_size)
        return int(np.clip(math.ceil(self.gradient_steps / batches), 5, 500))

    def fit(
        self, frames: list[Atoms], members: int, seed: int, name: str, bootstrap: bool = False
    ) -> list[Path]:
        """``members`` models (seeds ``seed``, ``seed + 1`` ...) fine-tuned on ``frames``
        (each on its own bootstrap resample when ``bootstrap``: a committee's members must
        differ to disagree); kept under ``work/name`` and reused when already there."""
        where = self.work / name
        done = [where / f"member{m}" / f"member{m}.model" for m in range(members)]
        if all(path.is_file() for path in done):
            return done
        if self.method == "in-process":
            for m, path in enumerate(done):
                if not path.is_file():
                    fine_tune.fine_tune(
                        self.start_model, frames, self.training, self.gradient_steps, seed + m,
                        path, bootstrap,
                    )  # fmt: skip
            return done
        update = {
            "max_num_epochs": self.epochs(len(frames)),
            "valid_fraction": VALID_FRACTION,
            "test_fraction": 0.0,
            "seed": seed,
            "bootstrap": bootstrap,
        }
        training = self.training.model_copy(update=update)
        fitted = fit_committee(
            frames, "fine_tune_naive", members, training, self.e0s, where,
            foundation=self.start_model,
        )  # fmt: skip
        return fitted.model_files


def force_errors(model: Path, sets: dict[str, list[Atoms]]) -> dict[str, float]:
    """Force RMSE (meV/Å) of ``model`` on each named set."""
    return {
        f"{name}_forces_rmse_meV_per_A": evaluate(model, frames)[0].forces_rmse_meV_per_A
        for name, frames in sets.items()
    }


def survival(
    model: Path,
    starts: list[Atoms],
    temperature_K: float,
    steps: int,
    seed: int = 0,
    li_li_A: float = SURVIVAL_LI_LI_A,
) -> dict[str, Any]:
    """Run the model's MD from every start; whether all stayed intact (no Li⁺ pair under
    ``li_li_A``, no other break), and each run."""
    committee = Committee([model], min_members=1)
    flags = FlagsSpec(min_distance_A={"Li-Li": li_li_A})
    runs: list[dict[str, Any]] = []
    for k, fixed in enumerate(starts):
        start, _ = relax_start(fixed, committee)
        settings = WalkerParameters(
            temperature_K=temperature_K,
            steps=steps,
            timestep_fs=TIMESTEP_FS,
            save_interval_steps=20,
            seed=seed * 100 + k,
        )
        walked = run_walker(start, committee, settings, FlagChecker(flags, start, temperature_K))
        closest = [closest_li_li_A(f.atoms) for f in walked.frames]
        runs.append(
            {
                "steps_done": walked.steps_done,
                "broke": walked.stop_reason,
                "closest_li_li_A": min((c for c in closest if c is not None), default=None),
            }
        )
    intact = [r["broke"] is None and r["steps_done"] >= steps for r in runs]
    physical = sum(min(r["steps_done"], steps) for r in runs) / (steps * len(runs))
    return {
        "li_li_A": li_li_A,
        "passed": all(intact),
        "runs_intact": sum(intact),
        "runs": runs,
        "physical_fraction": physical,
    }


def fused_runs(outcome: dict[str, Any]) -> int:
    """Runs of a :func:`survival` outcome that brought two Li⁺ under its limit."""
    limit = outcome.get("li_li_A", SURVIVAL_LI_LI_A)  # outcomes stored before it was recorded
    return sum(
        r["closest_li_li_A"] is not None and r["closest_li_li_A"] < limit for r in outcome["runs"]
    )


def li_li_push_eV_per_A(atoms: Atoms, forces_eV_per_A: np.ndarray) -> float:
    """How hard ``forces_eV_per_A`` push the closest two Li⁺ of ``atoms`` apart: half the
    difference of their forces along the axis joining them (eV/Å; negative pulls them
    together). For a pair potential this is -dE/dr."""
    lithium = np.flatnonzero(atoms.numbers == 3)
    distances = atoms[lithium].get_all_distances(mic=True)
    np.fill_diagonal(distances, np.inf)
    i, j = np.unravel_index(np.argmin(distances), distances.shape)
    a, b = int(lithium[i]), int(lithium[j])
    axis = atoms.get_distance(a, b, mic=True, vector=True)
    unit = axis / np.linalg.norm(axis)
    return float(np.dot(forces_eV_per_A[b] - forces_eV_per_A[a], unit) / 2)


def li_li_force_profile(model: Path, scan: list[Atoms]) -> list[dict[str, Any]]:
    """The Li⁺–Li⁺ push of the model and of the labels on each scan frame: a model that
    pulls the pair together where the labels push it apart has a spurious Li⁺ well."""
    predicted = Committee([model], min_members=1).predict(scan).forces_eV_per_A
    return [
        {
            "li_li_A": round(float(atoms.info["li_li_A"]), 3),
            "scan_stage": atoms.info["scan_stage"],
            "labels_push_eV_per_A": li_li_push_eV_per_A(atoms, atoms.arrays["REF_forces"]),
            "model_push_eV_per_A": li_li_push_eV_per_A(atoms, forces[0]),
        }
        for atoms, forces in zip(scan, predicted, strict=True)
    ]
