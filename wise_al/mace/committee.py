"""A committee of MACE models evaluated together on a batch of frames.

The neighbour graph of a batch is built once and shared by every member, frames of several
walkers go through each member in one forward pass, and stress is skipped unless asked for.
Members' raw predictions are returned stacked; metrics come from :mod:`wise_al.uncertainty`.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms

from wise_al.errors import WiseAlError

# mace prints a notice on stdout when imported (optional GPU kernels missing): stdout belongs
# to the data (`--json`) and stderr to one-line errors, so the notice goes to the debug log
_notice = io.StringIO()
with contextlib.redirect_stdout(_notice):
    from mace import data as mace_data
    from mace.tools import torch_geometric, torch_tools
    from mace.tools.utils import AtomicNumberTable
logging.getLogger(__name__).debug("mace: %s", _notice.getvalue().strip())

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is present, else ``cpu``; other names as given."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise WiseAlError(f"device {device!r} asked for, but torch sees no CUDA device")
    return device


@dataclass(frozen=True)
class CommitteePrediction:
    """Members' predictions for a batch of frames.

    Attributes
    ----------
    energies_eV
        Shape (members, frames).
    forces_eV_per_A
        One array per frame, shape (members, atoms, 3).
    stress_eV_per_A3
        Shape (members, frames, 3, 3), when asked for (NPT needs it).
    """

    energies_eV: np.ndarray
    forces_eV_per_A: list[np.ndarray]
    stress_eV_per_A3: np.ndarray | None = None


class Committee:
    """N MACE model files loaded as one committee.

    Parameters
    ----------
    model_paths
        Member model files (``torch.save``-d MACE models, as ``mace_run_train`` writes).
        They must share elements and cutoff (members of one committee are trained together).
    device
        ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
    dtype
        ``float64`` (default, exact MD) or ``float32`` (faster on GPUs).
    min_members
        2 for a committee; 1 to evaluate a single model with the same machinery.
    """

    def __init__(
        self,
        model_paths: Sequence[Path | str],
        device: str = "cpu",
        dtype: str = "float64",
        min_members: int = 2,
    ) -> None:
        if len(model_paths) < min_members:
            raise WiseAlError(
                f"a committee needs at least {min_members} models, got {len(model_paths)}"
            )
        self.device = resolve_device(device)
        self.dtype = DTYPES[dtype]
        self.models = [self._load(Path(p)) for p in model_paths]
        first = self.models[0]
        self.r_max_A = float(first.r_max)
        self.atomic_numbers = [int(z) for z in first.atomic_numbers]
        for path, model in zip(model_paths, self.models, strict=True):
            if [int(z) for z in model.atomic_numbers] != self.atomic_numbers or float(
                model.r_max
            ) != self.r_max_A:
                raise WiseAlError(f"{path}: elements or cutoff differ from the first member's")
        self.z_table = AtomicNumberTable(self.atomic_numbers)
        self.heads: list[str] = list(getattr(first, "heads", None) or ["Default"])
        # multihead fine-tuning keeps the foundation's head as "pt_head": predict with ours
        self.head = next((h for h in self.heads if h != "pt_head"), self.heads[0])

    def _load(self, path: Path) -> Any:
        if not path.is_file():
            raise WiseAlError(f"model file {path} does not exist")
        try:
            model = torch.load(path, map_location=self.device, weights_only=False)
        except Exception as exc:  # pickle, zip and torch errors all mean "not a model file"
            raise WiseAlError(f"{path}: not a MACE model file ({type(exc).__name__})") from None
        model = model.to(self.device, dtype=self.dtype).eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)  # forces need gradients w.r.t. positions only
        return model

    def __len__(self) -> int:
        return len(self.models)

    def _batch(self, frames: Sequence[Atoms]) -> dict[str, torch.Tensor]:
        missing = {int(z) for atoms in frames for z in atoms.numbers} - set(self.atomic_numbers)
        if missing:
            raise WiseAlError(
                f"the committee knows elements {self.atomic_numbers}, "
                f"frames contain {sorted(missing)}"
            )
        graphs = []
        # graphs are built in the committee's dtype: built in float32 and cast afterwards,
        # positions lose ~1e-7 Å and forces ~1e-4 eV/Å of float64 precision
        with torch_tools.default_dtype(self.dtype):
            for atoms in frames:
                if not np.isfinite(atoms.positions).all():
                    raise WiseAlError("a frame has NaN or infinite positions")
                config = mace_data.config_from_atoms(atoms, head_name=self.head)
                graphs.append(
                    mace_data.AtomicData.from_config(
                        config, z_table=self.z_table, cutoff=self.r_max_A, heads=self.heads
                    )
                )
        batch = torch_geometric.Batch.from_data_list(graphs).to(self.device)
        result: dict[str, torch.Tensor] = batch.to_dict()
        for key, value in result.items():
            if torch.is_tensor(value) and torch.is_floating_point(value):
                result[key] = value.to(self.dtype)
        return result

    def predict(
        self,
        frames: Sequence[Atoms],
        compute_stress: bool = False,
        members: Sequence[int] | None = None,
    ) -> CommitteePrediction:
        """Energies and forces of the members on every frame (one graph, one pass each).

        Parameters
        ----------
        frames
            The frames, batched into one graph.
        compute_stress
            Also the stress (a second derivative: only for NPT).
        members
            Indices of the members to evaluate, in the order the prediction stacks them;
            all members when None. MD driven by one member evaluates only that one per step.
        """
        chosen = range(len(self.models)) if members is None else members
        if not chosen or any(not 0 <= k < len(self.models) for k in chosen):
            raise WiseAlError(
                f"members {list(chosen)} are not a non-empty subset of 0..{len(self) - 1}"
            )
        batch = self._batch(frames)
        energies, forces, stresses = [], [], []
        for model in (self.models[k] for k in chosen):
            inputs = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in batch.items()}
            out = model(inputs, training=False, compute_force=True, compute_stress=compute_stress)
            energies.append(out["energy"].detach().cpu().numpy())
            forces.append(out["forces"].detach().cpu().numpy())
            if compute_stress:
                stresses.append(out["stress"].detach().cpu().numpy())
        stacked = np.stack(forces)  # (members, all atoms, 3)
        bounds = np.cumsum([0, *(len(atoms) for atoms in frames)])
        per_frame = [stacked[:, a:b] for a, b in itertools.pairwise(bounds)]
        stress = np.stack(stresses).astype(np.float64) if compute_stress else None
        return CommitteePrediction(np.stack(energies).astype(np.float64), per_frame, stress)

    def descriptors(self, frames: Sequence[Atoms]) -> np.ndarray:
        """Frame descriptors for diversity: the first member's invariant node features,
        averaged over the atoms of each frame. Shape (frames, features).
        """
        from e3nn import o3
        from mace.modules.utils import extract_invariant

        batch = self._batch(frames)
        model = self.models[0]
        node_feats = model(batch, training=False, compute_force=False)["node_feats"].detach()
        irreps = o3.Irreps(str(model.products[0].linear.irreps_out))
        per_l = irreps.dim // (irreps.lmax + 1) ** 2
        num_layers = int(model.num_interactions)
        invariant = extract_invariant(
            node_feats, num_layers=num_layers, num_features=per_l, l_max=irreps.lmax
        )
        per_frame = torch.split(invariant, [len(atoms) for atoms in frames])
        return np.stack([f.mean(dim=0).cpu().numpy() for f in per_frame]).astype(np.float64)
