"""Training committee members with mace's own trainer (``python -m mace.cli.run_train``).

Three strategies, as the campaign spec names them:

- ``from_scratch``: a new ScaleShiftMACE with the spec's architecture;
- ``fine_tune_naive``: every weight of the foundation model trained on the new labels;
- ``fine_tune_multihead``: a new head trained beside the foundation's, with replay data
  keeping the foundation head (mace's multihead fine-tuning).

E0s are always passed explicitly, at the labels' level of theory. mace-torch 0.3.16 copies
the foundation's E0s into a naively fine-tuned model whatever ``--E0s`` says (its log prints
the new ones); :func:`foundation_with_e0s` writes a copy of the foundation that already
holds the new E0s, which is what gets fine-tuned.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wise_al.campaign_spec.model import Strategy, TrainingSpec
from wise_al.errors import WiseAlError
from wise_al.mace.datasets import Dataset
from wise_al.processes import ShouldStop, run_process


@dataclass(frozen=True)
class MemberJob:
    """Everything one member's training needs.

    Attributes
    ----------
    name
        File stem of the model (``member0``).
    seed
        Training seed; members of a committee differ by it.
    strategy
        How to start (see the module docstring).
    dataset
        Split files; ``train_file`` replaces its train split (bootstrap resamples).
    e0s
        Isolated-atom energies per atomic number, eV, at the labels' level of theory.
    training
        Hyperparameters from the campaign spec.
    work_dir
        Where mace writes logs, checkpoints and the model.
    foundation
        Foundation model file (fine-tuning strategies).
    replay_file
        Foundation-level data replayed by multihead fine-tuning.
    device
        ``cpu`` or ``cuda``.
    """

    name: str
    seed: int
    strategy: Strategy
    dataset: Dataset
    e0s: dict[int, float]
    training: TrainingSpec
    work_dir: Path
    foundation: Path | None = None
    replay_file: Path | None = None
    train_file: Path | None = None
    device: str = "cpu"
    member: int = 0

    @property
    def model_file(self) -> Path:
        return self.work_dir / f"{self.name}.model"


def e0s_argument(e0s: dict[int, float]) -> str:
    """mace's ``--E0s`` dict literal, full precision."""
    return "{" + ", ".join(f"{z}: {e!r}" for z, e in sorted(e0s.items())) + "}"


#: Learning rate and weight EMA when the spec leaves them unset, per strategy.
#: - from scratch: mace's own default (lr 1e-2, no EMA);
#: - naive fine-tuning moves every foundation weight: at the from-scratch rate the first
#:   epochs on a few hundred labels pull it far from the foundation and it forgets what the
#:   new data does not cover (the rare Li-Li contacts it was chosen for), so a tenth of that
#:   (1e-3) with an EMA of the weights (0.99, as mace's fine-tuning examples use);
#: - multihead fine-tuning: mace's own safe choice (lr 1e-4, EMA 0.99999), which mace
#:   applies itself unless ``--force_mh_ft_lr`` is passed.
STRATEGY_DEFAULTS: dict[str, tuple[float, float | None]] = {
    "from_scratch": (1e-2, None),
    "fine_tune_naive": (1e-3, 0.99),
    "fine_tune_multihead": (1e-4, 0.99999),
}


def effective_training(
    strategy: Strategy, training: TrainingSpec, stress_frames: int, member: int = 0
) -> dict[str, Any]:
    """What mace really trains with: loss, weights, learning rate, EMA, epochs, bootstrap.

    mace's default loss (``weighted``) ignores ``--stress_weight``: stress is only learned
    with the ``stress`` loss, chosen when the spec weights stress and training frames carry
    it (periodic frames only). Multihead fine-tuning always uses mace's ``universal`` loss,
    which includes stress at ``stress_weight``. Member ``member`` scales the learning rate by
    ``training.member_lr_factor ** member``.
    """
    default_lr, default_ema = STRATEGY_DEFAULTS[strategy]
    stress_trained = training.stress_weight > 0 and stress_frames > 0
    if strategy == "fine_tune_multihead":
        loss = "universal"
    else:
        loss = "stress" if stress_trained else "weighted"
    bootstrap = training.bootstrap
    return {
        "loss": loss,
        "energy_weight": training.energy_weight,
        "forces_weight": training.forces_weight,
        "stress_weight": training.stress_weight if stress_trained else 0.0,
        "stress_trained": stress_trained,
        "stress_frames": stress_frames,
        "learning_rate": (training.learning_rate or default_lr) * training.member_lr_factor**member,
        "learning_rate_from": "spec" if training.learning_rate else f"{strategy} default",
        "ema_decay": training.ema_decay or default_ema,
        "max_num_epochs": training.max_num_epochs,
        "bootstrap": strategy != "from_scratch" if bootstrap is None else bootstrap,
    }


def mace_arguments(job: MemberJob, foundation: Path | None = None) -> list[str]:
    """The ``run_train`` command line of one member (``foundation``: the file to start from)."""
    t, files = job.training, job.dataset.files
    run = effective_training(job.strategy, t, job.dataset.stress_frames, job.member)
    # mace drops the last incomplete training batch: a batch larger than the set is no batch
    batch = max(1, min(t.batch_size, job.dataset.counts.get("train", t.batch_size)))
    args = [
        f"--name={job.name}",
        f"--seed={job.seed}",
        f"--work_dir={job.work_dir}",
        f"--train_file={job.train_file or files['train']}",
        f"--E0s={e0s_argument(job.e0s)}",
        "--energy_key=REF_energy",
        "--forces_key=REF_forces",
        "--stress_key=REF_stress",
        f"--device={job.device}",
        "--default_dtype=float64",
        f"--max_num_epochs={t.max_num_epochs}",
        f"--batch_size={batch}",
        f"--valid_batch_size={t.batch_size}",
        f"--lr={run['learning_rate']}",
        f"--loss={run['loss']}",
        f"--energy_weight={t.energy_weight}",
        f"--forces_weight={t.forces_weight}",
        f"--stress_weight={run['stress_weight']}",
        "--save_cpu",
    ]
    if run["ema_decay"] is not None:
        args += ["--ema", f"--ema_decay={run['ema_decay']}"]
    if "valid" in files:
        args.append(f"--valid_file={files['valid']}")
    if "test" in files:
        args.append(f"--test_file={files['test']}")
    if job.strategy == "from_scratch":
        return [
            *args,
            "--model=ScaleShiftMACE",
            f"--r_max={t.r_max_A}",
            f"--num_channels={t.num_channels}",
            f"--max_L={t.max_L}",
            f"--num_interactions={t.num_interactions}",
            f"--correlation={t.correlation}",
            "--multiheads_finetuning=False",
            *(["--pair_repulsion"] if t.pair_repulsion else []),
        ]
    if foundation is None:
        raise WiseAlError(f"strategy {job.strategy} needs a foundation model file")
    args += [f"--foundation_model={foundation}", "--model=MACE"]
    if job.strategy == "fine_tune_naive":
        return [*args, "--multiheads_finetuning=False"]
    if job.replay_file is None:
        raise WiseAlError("fine_tune_multihead needs replay data (training.replay_data)")
    multihead = [
        *args,
        "--multiheads_finetuning=True",
        f"--pt_train_file={job.replay_file}",
    ]
    # mace sets lr 1e-4 and EMA itself unless told not to: only when the spec asks otherwise
    asked = t.learning_rate or t.ema_decay or t.member_lr_factor != 1.0
    return [*multihead, "--force_mh_ft_lr=True"] if asked else multihead


_LOAD_LOCK = threading.Lock()


def foundation_with_e0s(foundation: Path, e0s: dict[int, float], out: Path) -> Path:
    """A copy of ``foundation`` whose E0s are ``e0s`` (the mace-torch 0.3.16 workaround).

    Raises
    ------
    WiseAlError
        If the data holds an element the foundation was not built for.
    """
    import torch

    # unpickling imports mace, which prints; and it traces torch.fx graphs through a global
    # patcher that two threads (members trained in parallel) must not share
    with _LOAD_LOCK, contextlib.redirect_stdout(sys.stderr):
        model = torch.load(foundation, map_location="cpu", weights_only=False)
    z_table = [int(z) for z in model.atomic_numbers]
    missing = sorted(set(e0s) - set(z_table))
    if missing:
        raise WiseAlError(f"the foundation model {foundation.name} has no element(s) Z={missing}")
    energies = model.atomic_energies_fn.atomic_energies
    old = energies.detach().clone()
    for index, z in enumerate(z_table):
        if z in e0s:  # elements absent from the data keep the foundation's values
            if old.ndim == 1:
                old[index] = e0s[z]
            else:  # multihead models hold one row per head
                old[:, index] = e0s[z]
    model.atomic_energies_fn.atomic_energies = old.to(energies.dtype)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model, out)
    return out


@dataclass(frozen=True)
class TrainedMember:
    """The outcome of one member's training."""

    job: MemberJob
    model_file: Path | None
    log_file: Path
    returncode: int | None  # None: stopped before it ended
    arguments: tuple[str, ...] = ()  # the run_train command line it ran with

    @property
    def stopped(self) -> bool:
        """Whether the training was killed because it was asked to stop."""
        return self.returncode is None


def run_training(
    job: MemberJob, threads: int = 1, should_stop: ShouldStop | None = None
) -> TrainedMember:
    """Train one member in its own process (mace's trainer owns global state).

    ``should_stop`` is asked every few seconds; a true answer kills the trainer's process
    group and removes the member's work directory (checkpoints, a half-written model, its
    log): a stopped member leaves nothing.
    """
    job.work_dir.mkdir(parents=True, exist_ok=True)
    foundation = job.foundation
    if foundation is not None and job.strategy == "fine_tune_naive":
        foundation = foundation_with_e0s(foundation, job.e0s, job.work_dir / "foundation.model")
    log = job.work_dir / f"{job.name}.log"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    arguments = mace_arguments(job, foundation)
    command = [sys.executable, "-m", "mace.cli.run_train", *arguments]
    end = run_process(command, log, env=env, should_stop=should_stop)
    if end.stopped:
        shutil.rmtree(job.work_dir, ignore_errors=True)
        job.model_file.unlink(missing_ok=True)  # in case it lives outside the work directory
    code = end.returncode
    model = job.model_file if code == 0 and job.model_file.exists() else None
    return TrainedMember(job, model, log, code, tuple(arguments))


def train_committee(
    jobs: Sequence[MemberJob],
    parallel: int = 1,
    on_done: Callable[[TrainedMember], None] | None = None,
) -> list[TrainedMember]:
    """Train members, ``parallel`` at a time, splitting this machine's cores between them.

    ``on_done`` hears of each member as it finishes (progress bars); results keep job order.
    """
    parallel = max(1, min(parallel, len(jobs)))
    threads = max(1, (os.cpu_count() or 1) // parallel)
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = [pool.submit(run_training, job, threads) for job in jobs]
        for future in as_completed(futures):
            if on_done is not None:
                on_done(future.result())
        return [future.result() for future in futures]
