"""A small stand-in foundation model, built on this machine in minutes on a CPU.

Real use fine-tunes a real foundation model (e.g. MACE-MP-0 ``medium-mpa-0``); its weights
cannot be downloaded where wise-al is tested. The demo foundation is trained from scratch on
GFN1-xTB labels (CP2K) of varied water, LiTFSI/water and concentrated LiTFSI cells, rattled
away from their packed geometries, so that demos and tests fine-tune something that has seen
every element of the electrolyte. It is a demo, not a potential for science.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ase import Atoms
from ase.io import write

from wise_al.campaign_spec.model import TrainingSpec
from wise_al.cp2k.e0s import reference_energies
from wise_al.cp2k.label import Labeller
from wise_al.mace.fit import FittedCommittee, fit_committee
from wise_al.systems.cells import pack_cell
from wise_al.systems.labelled import labelled_frame

#: Cells the demo foundation learns from: composition and density (g/cm³).
DEMO_CELLS: tuple[tuple[dict[str, int], float], ...] = (
    ({"H2O": 8}, 1.0),
    ({"LiTFSI": 1, "H2O": 3}, 1.2),
    ({"LiTFSI": 2, "H2O": 5}, 1.7126),
    ({"LiTFSI": 1, "H2O": 8}, 1.3),
)
#: Gaussian displacement of each frame (Å), cycled: near and far from equilibrium.
RATTLE_A = (0.04, 0.08, 0.12)
ELEMENTS = ("H", "Li", "C", "N", "O", "F", "S")

#: Small enough to train in a few minutes on 2 CPU cores.
DEMO_TRAINING = TrainingSpec(
    max_num_epochs=60, batch_size=4, learning_rate=0.01, valid_fraction=0.1, test_fraction=0.1,
    num_channels=32, max_L=0, r_max_A=5.0, num_interactions=2, correlation=2,
)  # fmt: skip


def demo_frames(count: int, seed: int = 0) -> list[Atoms]:
    """``count`` rattled cells, cycling through :data:`DEMO_CELLS` and :data:`RATTLE_A`."""
    frames = []
    for k in range(count):
        molecules, density = DEMO_CELLS[k % len(DEMO_CELLS)]
        atoms = pack_cell(molecules, density_g_per_cm3=density, seed=seed + k)
        atoms.rattle(RATTLE_A[k % len(RATTLE_A)], seed=seed + k)
        frames.append(Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True))
    return frames


@dataclass(frozen=True)
class DemoFoundation:
    """The model file, the labelled frames it learnt (replay data) and its fit record."""

    model_file: Path
    data_file: Path
    fitted: FittedCommittee


def build_demo_foundation(
    labeller: Labeller,
    out_model: Path,
    frames: int = 48,
    epochs: int = DEMO_TRAINING.max_num_epochs,
    seed: int = 0,
    on_label: Callable[[int], None] | None = None,
) -> DemoFoundation:
    """Label rattled cells with the labeller's xTB, train one model, write model and data.

    ``on_label`` hears the index of each labelled frame (progress bars). Frames whose label
    failed are left out; CP2K runs are cached in the labeller's store.
    """
    labelled = []
    for k, atoms in enumerate(demo_frames(frames, seed)):
        result = labeller.label(atoms)
        if result.ok and result.energy_eV is not None:
            labelled.append(
                labelled_frame(
                    atoms,
                    result.energy_eV,
                    result.forces_eV_per_A,
                    result.stress_eV_per_A3,
                    result.level_sha256,
                )
            )
        if on_label is not None:
            on_label(k)
    e0s = reference_energies(labeller, ELEMENTS)
    work = out_model.parent / f"{out_model.stem}-training"
    training = DEMO_TRAINING.model_copy(update={"max_num_epochs": epochs, "seed": seed})
    # committee of one: the foundation is a single model
    fitted = fit_committee(labelled, "from_scratch", 1, training, e0s, work)
    out_model.parent.mkdir(parents=True, exist_ok=True)
    out_model.write_bytes(fitted.model_files[0].read_bytes())
    data_file = out_model.with_name(f"{out_model.stem}-data.extxyz")
    write(data_file, labelled, format="extxyz")
    return DemoFoundation(out_model, data_file, fitted)
