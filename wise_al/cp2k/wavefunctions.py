"""Converged wavefunctions kept for reuse: a new label starts from the nearest one.

Frames along an MD trajectory differ little, so the converged wavefunction of a neighbour is
a far better SCF guess than atomic densities. A wavefunction only fits a frame with the same
atoms in the same order, the same cell and the same level of theory; among those the one
with the smallest minimum-image RMS displacement is used, if it is close enough.

Entries are files (``<key>/<frame>.wfn`` and ``.json``) written by rename, so several
workers may share one library without locks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from wise_al.atomic_files import copy_atomic, write_text_atomic

#: Frames farther apart than this (RMS displacement) start from atomic densities instead.
DEFAULT_MAX_RMSD_A = 0.5


@dataclass(frozen=True)
class Guess:
    """A stored wavefunction chosen for a frame.

    Attributes
    ----------
    wfn
        The wavefunction file.
    rmsd_A
        Minimum-image RMS displacement between its frame and the new one.
    scratch_scf_steps
        SCF steps its chain took from atomic densities: the baseline for steps saved.
    source
        Where it came from (the label directory that converged it).
    """

    wfn: Path
    rmsd_A: float
    scratch_scf_steps: int
    source: str


def _fingerprint(atoms: Atoms) -> str:
    numbers = atoms.numbers.astype(np.int64).tobytes()
    cell = np.round(np.asarray(atoms.cell), 6).tobytes()
    return hashlib.sha256(numbers + cell + atoms.pbc.tobytes()).hexdigest()[:32]


def rmsd_A(a: Atoms, b: Atoms) -> float:
    """Minimum-image RMS displacement between two frames of the same atoms and cell."""
    vectors, _ = find_mic(a.positions - b.positions, a.cell, a.pbc)
    return float(np.sqrt((vectors**2).sum(axis=1).mean()))


class WavefunctionLibrary:
    """Converged wavefunctions under ``root``, per level of theory, composition and cell."""

    def __init__(self, root: Path, max_rmsd_A: float = DEFAULT_MAX_RMSD_A) -> None:
        self.root = root
        self.max_rmsd_A = max_rmsd_A

    def _shelf(self, level_sha256: str, atoms: Atoms) -> Path:
        return self.root / level_sha256[:16] / _fingerprint(atoms)

    def nearest(self, level_sha256: str, atoms: Atoms) -> Guess | None:
        """The closest stored wavefunction for ``atoms``, or None if none is close enough."""
        shelf = self._shelf(level_sha256, atoms)
        best: Guess | None = None
        for meta_path in sorted(shelf.glob("*.json")) if shelf.is_dir() else []:
            meta = json.loads(meta_path.read_text())
            stored = Atoms(
                numbers=atoms.numbers,
                positions=np.array(meta["positions_A"]),
                cell=atoms.cell,
                pbc=atoms.pbc,
            )
            distance = rmsd_A(stored, atoms)
            if distance <= self.max_rmsd_A and (best is None or distance < best.rmsd_A):
                wfn = meta_path.with_suffix(".wfn")
                best = Guess(wfn, distance, int(meta["scratch_scf_steps"]), meta["source"])
        return best

    def add(
        self, level_sha256: str, atoms: Atoms, wfn: Path, scratch_scf_steps: int, source: str
    ) -> None:
        """Keep the converged wavefunction ``wfn`` of ``atoms`` (a copy; never overwritten)."""
        shelf = self._shelf(level_sha256, atoms)
        shelf.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(atoms.positions.tobytes()).hexdigest()[:32]
        if (shelf / f"{name}.json").exists():
            return
        meta = {
            "positions_A": atoms.positions.tolist(),
            "scratch_scf_steps": scratch_scf_steps,
            "source": source,
        }
        # wavefunction first, metadata last: a reader never sees an entry without its file
        copy_atomic(wfn, shelf / f"{name}.wfn")
        write_text_atomic(shelf / f"{name}.json", json.dumps(meta))
