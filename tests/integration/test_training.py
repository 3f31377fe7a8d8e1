"""Real MACE committees trained on CPU: from scratch, naive and multihead fine-tuning.

The fine-tuning tests move the labels to a "new level of theory" whose E0s differ from the
foundation's by known per-element offsets (energies shifted by the sum over atoms): a model
that kept the foundation's E0s (the mace-torch 0.3.16 bug) is off by exactly those.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.io import read

from tests.support.cp2k_fixtures import needs_cp2k, wrapper
from tests.support.mace_models import DATA
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.campaign_spec.model import TrainingSpec
from wise_al.cp2k.e0s import reference_energies
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.run import LaunchProfile
from wise_al.mace.committee import Committee
from wise_al.mace.evaluate import evaluate
from wise_al.mace.fit import fit_committee

pytestmark = [needs_cp2k, pytest.mark.slow]

TINY = TrainingSpec(
    max_num_epochs=10, batch_size=8, learning_rate=0.01, valid_fraction=0.2, test_fraction=0.2,
    num_channels=16, max_L=0, r_max_A=4.0, correlation=2,
)  # fmt: skip
OFFSET_EV = {1: 1.0, 3: -2.0, 8: 3.0}  # the new level's E0s minus the old ones


@pytest.fixture(scope="module")
def xtb_e0s(tmp_path_factory: pytest.TempPathFactory) -> dict[int, float]:
    store = tmp_path_factory.mktemp("e0s")
    return reference_energies(
        Labeller(LabellingSpec(), detect(), LaunchProfile(), store), ["H", "Li", "O"]
    )


def _frames(shift: bool = False) -> list[Atoms]:
    frames = read(DATA, ":")
    assert isinstance(frames, list)
    for atoms in frames if shift else []:
        atoms.info["REF_energy"] += sum(OFFSET_EV[int(z)] for z in atoms.numbers)
    return frames


def _test_frames(work: Path) -> list[Atoms]:
    frames = read(work / "data" / "test.extxyz", ":")
    assert isinstance(frames, list) and frames
    return frames


def test_e0s_are_cp2k_atoms_computed_once(xtb_e0s: dict[int, float], tmp_path: Path) -> None:
    assert set(xtb_e0s) == {1, 3, 8}
    assert xtb_e0s[1] == pytest.approx(-10.9235, abs=1e-3)  # GFN1-xTB H atom, doublet
    store = tmp_path / "store"
    first = reference_energies(
        Labeller(LabellingSpec(), detect(), LaunchProfile(), store), ["H", "O"]
    )
    marker = tmp_path / "ran"
    spy = wrapper(tmp_path, "spy-cp2k", f'touch {marker}; exec CP2K "$@"')
    again = Labeller(LabellingSpec(), detect(), LaunchProfile(binary=str(spy)), store)
    assert reference_energies(again, ["O", "H"]) == first and not marker.exists()


def test_a_committee_from_scratch_learns(xtb_e0s: dict[int, float], tmp_path: Path) -> None:
    fitted = fit_committee(_frames(), "from_scratch", 2, TINY, xtb_e0s, tmp_path, parallel=2)
    assert len(fitted.model_files) == 2
    members = fitted.manifest["members"]
    assert [m["seed"] for m in members] == [0, 1] and members[0]["sha256"] != members[1]["sha256"]
    test = _test_frames(tmp_path)
    reference = np.concatenate([a.arrays["REF_forces"].ravel() for a in test])
    zero_force_rmse = 1000 * np.sqrt(np.mean(reference**2))
    for model in fitted.model_files:
        errors, _ = evaluate(model, test)
        assert errors.forces_rmse_meV_per_A < 0.5 * zero_force_rmse
    assert members[0]["errors"]["test"] == evaluate(fitted.model_files[0], test)[0].to_dict()
    assert len(Committee(fitted.model_files)) == 2  # they reload as a committee


def _fine_tune(
    strategy: str, foundation: Path, e0s: dict[int, float], work: Path
) -> tuple[Path, float, float]:
    new_e0s = {z: e + OFFSET_EV[z] for z, e in e0s.items()}
    fitted = fit_committee(
        _frames(shift=True), strategy, 2, TINY.model_copy(update={"max_num_epochs": 6}),  # type: ignore[arg-type]
        new_e0s, work, foundation=foundation, replay_file=DATA, parallel=2,
    )  # fmt: skip
    model = torch.load(fitted.model_files[0], map_location="cpu", weights_only=False)
    heads = list(getattr(model, "heads", ["Default"]))
    energies = model.atomic_energies_fn.atomic_energies.reshape(len(heads), -1)
    ours = energies[heads.index("Default")].tolist()
    assert ours == pytest.approx([new_e0s[z] for z in (1, 3, 8)], abs=1e-9)
    test = _test_frames(work)
    tuned = evaluate(fitted.model_files[0], test)[0].energy_rmse_meV_per_atom
    before = evaluate(foundation, test)[0].energy_rmse_meV_per_atom
    return fitted.model_files[0], tuned, before


def test_naive_fine_tuning_takes_the_new_levels_e0s(
    xtb_e0s: dict[int, float], tiny_committee_paths: list[Path], tmp_path: Path
) -> None:
    _, tuned, foundation = _fine_tune("fine_tune_naive", tiny_committee_paths[0], xtb_e0s, tmp_path)
    assert tuned < foundation


def test_multihead_fine_tuning_keeps_the_foundation_head(
    xtb_e0s: dict[int, float], tiny_committee_paths: list[Path], tmp_path: Path
) -> None:
    model, tuned, foundation = _fine_tune(
        "fine_tune_multihead", tiny_committee_paths[0], xtb_e0s, tmp_path
    )
    assert torch.load(model, weights_only=False).heads == ["pt_head", "Default"]
    assert tuned < foundation
