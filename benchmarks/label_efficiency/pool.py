"""The failing start and the pool every pool-based arm draws its labels from.

The pool is explored the way the loop's iteration 0 explores: walkers driven by the
starting model from packed cells (relaxed on the model), stopped at the first frame that
breaks the run, each saved frame checked by the physics flags; the candidates of each
trajectory are those :func:`wise_al.exploration.onset.kept_frames` keeps (every frame up
to the break, the last few before it marked as the break's onset). Every candidate is
labelled once with CP2K; a frame CP2K does not label leaves the pool.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from ase import Atoms

from benchmarks.label_efficiency import cache
from benchmarks.label_efficiency.endpoints import Fitter
from benchmarks.label_efficiency.truth import CELL, DENSITY_G_PER_CM3, TIMESTEP_FS, cp2k_label
from wise_al.campaign_spec.campaign import CampaignSpec
from wise_al.campaign_spec.exploration import FlagsSpec
from wise_al.campaign_spec.io import load_spec
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.md import relaxation_path
from wise_al.cp2k.run import LaunchProfile
from wise_al.exploration.onset import kept_frames
from wise_al.exploration.walker import WalkerParameters, run_walker
from wise_al.flags import FlagChecker
from wise_al.mace.committee import Committee
from wise_al.mace.fit import fit_committee
from wise_al.md.relax import relax_start
from wise_al.systems.cells import pack_cell

#: What a frame without flags carries under ``flags``.
NO_FLAGS = "none"


#: The failing starts the benchmark can build (``--start``): what each one is.
STARTS = {
    "weak": "the foundation fine-tuned on the start cells' frames at the demo's rate (1e-2)",
    "foundation": "the foundation itself (the demo's: trained from scratch on rattled cells)",
    "scratch": "a model trained from scratch on the start cells' frames alone",
    "demo": "the demo campaign's first fit: the foundation fine-tuned by mace's trainer with "
    "examples/demo.yaml's training on that campaign's first budget of frames, drawn from the "
    "foundation's own pool",
}
#: The campaign whose first fit the ``demo`` start repeats.
DEMO_SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo.yaml"


@functools.cache
def demo_spec() -> CampaignSpec:
    """:data:`DEMO_SPEC`, read and validated once."""
    return load_spec(DEMO_SPEC)


def start_frames(labeller: Labeller, profile: LaunchProfile, cells: int, work: Path) -> list[Atoms]:
    """Labelled frames of ``cells`` CP2K relaxations of packed cells (what a campaign seeded
    with ``model.initial_cells`` trains first): the start, every third step, the end."""

    def make() -> list[Atoms]:
        labelled = []
        for c in range(cells):
            packed = pack_cell(CELL, density_g_per_cm3=DENSITY_G_PER_CM3, seed=900 + c)
            here = work / f"cell-{c}"
            path = relaxation_path(labeller.spec, packed, 20, labeller.cp2k, profile, here)
            shutil.rmtree(here, ignore_errors=True)
            for atoms in [*path[:: max(1, len(path) // 3)], path[-1]]:
                frame = cp2k_label(labeller, atoms, f"cell-{c}")
                if not isinstance(frame, str):
                    labelled.append(frame)
        return labelled

    return cache.frames(work / "frames.extxyz", make)


def demo_first_labels(foundation_pool: list[Atoms]) -> list[Atoms]:
    """What the demo campaign labels first: its budget of frames drawn (seed 0) from the
    foundation's own exploration."""
    count = demo_spec().selection.budget_per_iteration
    picks = np.random.default_rng(0).choice(len(foundation_pool), count, replace=False)
    return [foundation_pool[k] for k in picks]


def start_model(
    kind: str, frames: Callable[[], list[Atoms]], e0s: dict[int, float], fitter: Fitter
) -> Path:
    """The :data:`STARTS` model ``kind`` (built once under the fitter's folder, then read).
    ``weak`` is fitted by ``fitter`` from its start model (the foundation) on ``frames()``,
    ``scratch`` by mace's trainer with the fitter's training spec, as the product trains a
    from-scratch committee; ``demo`` by mace's trainer with the demo campaign's training
    (``frames()`` are then that campaign's first labels); ``foundation`` labels nothing."""
    if kind == "foundation":
        return fitter.start_model
    if kind == "weak":
        return fitter.fit(frames(), 1, 0, "start-model")[0]
    if kind == "demo":
        built = fitter.work / "demo-model" / "member0" / "member0.model"
        if built.is_file():
            return built
        # the campaign's external test set scores its committees; this fit needs none
        training = demo_spec().model.training.model_copy(update={"external_test_set": None})
        return fit_committee(
            frames(), "fine_tune_naive", 1, training, e0s, fitter.work / "demo-model",
            foundation=fitter.start_model,
        ).model_files[0]  # fmt: skip
    built = fitter.work / "scratch-model" / "member0" / "member0.model"
    if built.is_file():
        return built
    return fit_committee(
        frames(), "from_scratch", 1, fitter.training, e0s, fitter.work / "scratch-model"
    ).model_files[0]


def explore(
    model: Path,
    temperatures_K: Sequence[float],
    frames_wanted: int,
    max_walkers: int,
    steps: int,
    save_every_steps: int,
    say: Callable[[str], None] = print,
) -> list[Atoms]:
    """Unlabelled candidates of walkers (temperatures cycled) until there are
    ``frames_wanted`` (whole trajectories: the last walker may overshoot) or
    ``max_walkers`` ran, with ``walker``, ``md_step``, ``flags`` (kinds, comma-separated)
    and ``onset_of_step`` (-1: not leading into a break) in ``info``."""
    committee = Committee([model], min_members=1)
    frames: list[Atoms] = []
    for w in range(max_walkers):
        if len(frames) >= frames_wanted:
            break
        temperature = temperatures_K[w % len(temperatures_K)]
        packed = pack_cell(CELL, density_g_per_cm3=DENSITY_G_PER_CM3, seed=700 + w)
        start, _ = relax_start(packed, committee)
        settings = WalkerParameters(
            temperature_K=temperature,
            steps=steps,
            timestep_fs=TIMESTEP_FS,
            save_interval_steps=save_every_steps,
            seed=w,
        )
        walked = run_walker(
            start, committee, settings, FlagChecker(FlagsSpec(), start, temperature)
        )
        kept = kept_frames(walked.frames, keep_all=True)
        for k in kept:
            atoms = k.frame.atoms.copy()
            atoms.calc = None
            atoms.info = {
                "walker": w,
                "md_step": k.frame.step,
                "temperature_K": temperature,
                # never empty: extxyz reads "flags= next=1" as flags="next=1"
                "flags": ",".join(sorted({f.kind for f in k.frame.flags})) or NO_FLAGS,
                "onset_of_step": -1 if k.onset_of_step is None else k.onset_of_step,
            }
            frames.append(atoms)
        say(
            f"pool walker {w + 1} at {temperature:g} K: {len(kept)} frames ({len(frames)} in all), "
            f"{walked.stop_reason or 'intact'}"
        )
    return frames


def label(
    frames: list[Atoms], labeller: Labeller, say: Callable[[str], None] = print
) -> list[Atoms]:
    """The frames CP2K labelled, their exploration ``info`` kept."""
    labelled = []
    for k, atoms in enumerate(frames):
        frame = cp2k_label(labeller, atoms, "pool")
        if not isinstance(frame, str):
            frame.info |= atoms.info
            labelled.append(frame)
        if (k + 1) % 25 == 0 or k + 1 == len(frames):
            say(f"pool labels: {k + 1}/{len(frames)} frames, {len(labelled)} labelled")
    return labelled
