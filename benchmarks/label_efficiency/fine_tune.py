"""Naive fine-tuning in this process: what ``fine_tune_naive`` asks of mace's trainer, without
starting it.

The benchmark fits thousands of small models (every arm, budget and seed). mace's own trainer
(``python -m mace.cli.run_train``, what the product runs and ``--fitter mace`` selects)
starts a new Python, imports torch and e3nn, splits and writes the data and evaluates every
split for each fit: at 4-64 labels of 47 atoms that costs more than the training itself.
Here the same fit runs in this process with mace's own pieces (graphs, the weighted
energy/forces loss, AMSGrad Adam, an EMA of the weights, the product's learning rate): every
weight of the start model trained for a fixed number of optimiser steps on the labels (or a
bootstrap resample of them), the EMA weights kept.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms

from wise_al.campaign_spec.model import TrainingSpec
from wise_al.mace.training import STRATEGY_DEFAULTS

with contextlib.redirect_stdout(io.StringIO()):  # mace prints a notice about optional kernels
    from mace import data as mace_data
    from mace.modules.loss import WeightedEnergyForcesLoss
    from mace.tools import torch_geometric, torch_tools
    from mace.tools.utils import AtomicNumberTable
    from torch_ema import ExponentialMovingAverage

#: Learning rate and weight EMA when the spec leaves them unset: the product's own.
DEFAULT_LR, DEFAULT_EMA = STRATEGY_DEFAULTS["fine_tune_naive"]
LABEL_KEYS = mace_data.KeySpecification(
    info_keys={"energy": "REF_energy"}, arrays_keys={"forces": "REF_forces"}
)


def _graphs(model: Any, frames: Sequence[Atoms]) -> list[mace_data.AtomicData]:
    z_table = AtomicNumberTable([int(z) for z in model.atomic_numbers])
    cutoff = float(model.r_max)
    heads = list(getattr(model, "heads", None) or ["Default"])
    return [
        mace_data.AtomicData.from_config(
            mace_data.config_from_atoms(atoms, key_specification=LABEL_KEYS),
            z_table=z_table,
            cutoff=cutoff,
            heads=heads,
        )
        for atoms in frames
    ]


def fine_tune(
    start_model: Path,
    frames: Sequence[Atoms],
    training: TrainingSpec,
    steps: int,
    seed: int,
    out: Path,
    bootstrap: bool = False,
) -> Path:
    """Write ``out``: ``start_model`` trained ``steps`` optimiser steps on ``frames``.

    Parameters
    ----------
    start_model
        A MACE model file; every weight is trained.
    frames
        Labelled frames (``REF_energy`` in eV, ``REF_forces`` in eV/Å).
    training
        Its batch size, energy/force weights, learning rate and EMA decay (the product's
        defaults for naive fine-tuning when unset) are used.
    steps
        Optimiser steps (batches drawn in reshuffled epochs).
    seed
        Seeds the shuffling, the bootstrap resample and torch.
    bootstrap
        Train on a resample with replacement of ``frames`` (committee members must differ).
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    chosen = list(frames)
    if bootstrap:
        chosen = [chosen[k] for k in rng.integers(0, len(chosen), len(chosen))]
    with torch_tools.default_dtype(torch.float64):
        model = torch.load(start_model, map_location="cpu", weights_only=False).double()
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        model.train()
        graphs = _graphs(model, chosen)
        loss_fn = WeightedEnergyForcesLoss(training.energy_weight, training.forces_weight)
        optimizer = torch.optim.Adam(
            model.parameters(), lr=training.learning_rate or DEFAULT_LR, amsgrad=True
        )
        ema = ExponentialMovingAverage(model.parameters(), decay=training.ema_decay or DEFAULT_EMA)
        batch_size = min(training.batch_size, len(graphs))
        order: list[int] = []
        for _ in range(steps):
            if len(order) < batch_size:  # a new epoch, reshuffled
                order = [int(k) for k in rng.permutation(len(graphs))]
            picked, order = order[:batch_size], order[batch_size:]
            batch = torch_geometric.Batch.from_data_list([graphs[k] for k in picked])
            optimizer.zero_grad()
            predicted = model(batch.to_dict(), training=True, compute_force=True)
            loss = loss_fn(ref=batch, pred=predicted)
            loss.backward()
            optimizer.step()
            ema.update()
        ema.copy_to()
        model.eval()
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".partial")
        torch.save(model, partial)
        partial.replace(out)  # a fit stopped midway leaves no model file behind
    return out
