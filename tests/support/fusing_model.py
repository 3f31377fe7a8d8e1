"""A potential known to fuse Li⁺: a real MACE model plus a deliberate Li–Li pull.

The paper's failure (spurious Li⁺–Li⁺ contacts) on demand, for tests of what the loop does
when a potential breaks in MD: the wrapped model adds ``E = k · r`` for every Li–Li pair
(minimum image), a constant pull of ``k`` eV/Å that brings any two Li⁺ together within a
short validation run. Everything else (graphs, descriptors, elements, cutoff) is the inner
model's. Forces are the exact negative gradient (autograd); stress is the inner model's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

LITHIUM = 3


class LiFusingMACE(torch.nn.Module):
    """``inner`` plus a pull of ``pull_eV_per_A`` between every two Li⁺."""

    def __init__(self, inner: torch.nn.Module, pull_eV_per_A: float) -> None:
        super().__init__()
        self.inner = inner
        self.pull_eV_per_A = pull_eV_per_A
        numbers = [int(z) for z in inner.atomic_numbers]  # type: ignore[union-attr]
        self.li_column = numbers.index(LITHIUM)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:  # r_max, atomic_numbers, heads, products, ...: the inner model's
            return getattr(super().__getattr__("inner"), name)

    def pair_energy_eV(
        self, positions: torch.Tensor, data: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """``k · r`` summed over the Li–Li pairs of each graph, shape (graphs,)."""
        graphs = int(data["ptr"].numel() - 1)
        cells = data["cell"].view(graphs, 3, 3)
        lithium = data["node_attrs"][:, self.li_column] > 0.5
        energies = []
        for g in range(graphs):
            index = torch.nonzero(lithium & (data["batch"] == g)).flatten().tolist()
            energy = positions.new_zeros(())
            for a, i in enumerate(index):
                for j in index[a + 1 :]:
                    fractional = torch.linalg.solve(cells[g].T, positions[j] - positions[i])
                    fractional = fractional - torch.round(fractional.detach())
                    distance = torch.linalg.norm(cells[g].T @ fractional)
                    energy = energy + self.pull_eV_per_A * distance
            energies.append(energy)
        return torch.stack(energies)

    def forward(
        self,
        data: dict[str, torch.Tensor],
        training: bool = False,
        compute_force: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        out = dict(self.inner(data, training=training, compute_force=compute_force, **kwargs))
        with torch.enable_grad():
            positions = data["positions"].detach().clone().requires_grad_(True)
            energy = self.pair_energy_eV(positions, data)
            if compute_force:
                (gradient,) = torch.autograd.grad(energy.sum(), positions)
                out["forces"] = out["forces"] - gradient
        out["energy"] = out["energy"] + energy.detach()
        return out


def fusing_model(source: Path, target: Path, pull_eV_per_A: float) -> Path:
    """Save ``source``'s MACE model with a Li–Li pull as ``target``."""
    inner = torch.load(source, map_location="cpu", weights_only=False)
    torch.save(LiFusingMACE(inner, pull_eV_per_A), target)
    return target
