"""Checkpoints of a production run: the integrator's state and how much trajectory it covers.

A checkpoint is written after the frame of its step, atomically (a temporary file renamed
over the old one), and records the trajectory's size in bytes at that moment. Resuming
cuts the trajectory back to that size, so frames written after the checkpoint, including
one cut off mid-write by a kill, are dropped and then written again, identically.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from wise_al.atomic_files import write_bytes_atomic

_STATE = "state:"


@dataclass(frozen=True)
class Checkpoint:
    """Where a run stood: the step, the frames and bytes of trajectory, the integrator state,
    and the atoms themselves (with momenta), so another run can continue from them."""

    step: int
    frames: int
    trajectory_bytes: int
    state: dict[str, np.ndarray]
    atoms: Atoms

    def save(self, path: Path) -> None:
        """Write atomically: a kill mid-write leaves the previous checkpoint intact."""
        arrays: dict[str, Any] = {_STATE + k: v for k, v in self.state.items()}
        buffer = io.BytesIO()
        np.savez(
            buffer,
            step=self.step,
            frames=self.frames,
            trajectory_bytes=self.trajectory_bytes,
            numbers=self.atoms.numbers,
            positions=self.atoms.positions,
            momenta=self.atoms.get_momenta(),
            cell=np.asarray(self.atoms.cell),
            pbc=self.atoms.pbc,
            **arrays,
        )
        write_bytes_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        """Read a checkpoint written by :meth:`save`."""
        with np.load(path) as data:
            atoms = Atoms(data["numbers"], data["positions"], cell=data["cell"], pbc=data["pbc"])
            atoms.set_momenta(data["momenta"])
            return cls(
                step=int(data["step"]),
                frames=int(data["frames"]),
                trajectory_bytes=int(data["trajectory_bytes"]),
                state={k[len(_STATE) :]: data[k] for k in data.files if k.startswith(_STATE)},
                atoms=atoms,
            )
