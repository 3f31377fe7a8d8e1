"""Dataset splits, training command lines and level records (no training here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write

from tests.support.cp2k_fixtures import fake_installation
from tests.support.mace_models import DATA, STRESS_DATA
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.campaign_spec.model import TrainingSpec
from wise_al.cp2k.level import level_of_theory, spec_from_level
from wise_al.errors import WiseAlError
from wise_al.mace.datasets import (
    bootstrap,
    check_external_test,
    split_group,
    split_of,
    write_dataset,
)
from wise_al.mace.foundations import resolve_foundation
from wise_al.mace.training import MemberJob, e0s_argument, effective_training, mace_arguments


def _frames() -> list[Atoms]:
    frames = read(DATA, ":")
    assert isinstance(frames, list)
    return frames


def test_a_frames_split_never_changes_as_labels_are_added(tmp_path: Path) -> None:
    frames = _frames()
    small = write_dataset(frames[:20], tmp_path / "small", 0.2, 0.2)
    large = write_dataset(frames, tmp_path / "large", 0.2, 0.2)
    test_small = read(small.files["test"], ":")
    test_large = read(large.files["test"], ":")
    assert isinstance(test_small, list) and isinstance(test_large, list)
    large_positions = [a.positions.tobytes() for a in test_large]
    assert all(a.positions.tobytes() in large_positions for a in test_small)
    assert sum(large.counts.values()) == len(frames) and large.counts["test"] > 0
    again = write_dataset(frames, tmp_path / "again", 0.2, 0.2)
    assert again.sha256 == large.sha256  # deterministic, content-hashed
    assert {split_of(a, 0.2, 0.2) for a in frames} == {"train", "valid", "test"}


def test_tiny_sets_still_get_a_validation_frame(tmp_path: Path) -> None:
    dataset = write_dataset(_frames()[:3], tmp_path, 0.01, 0.0)
    assert dataset.counts["valid"] == 1 and dataset.counts["train"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.info.pop("REF_energy"), "has no REF_energy"),
        (lambda a: a.arrays["REF_forces"].__setitem__((0, 0), np.nan), "REF_forces must be finite"),
        (lambda a: a.info.__setitem__("REF_level_sha256", "b" * 64), "2 levels of theory"),
    ],
)
def test_bad_or_mixed_labels_are_refused(tmp_path: Path, change: object, message: str) -> None:
    frames = _frames()[:6]
    for atoms in frames:
        atoms.info["REF_level_sha256"] = "a" * 64
    change(frames[3])  # type: ignore[operator]
    with pytest.raises(WiseAlError, match=message):
        write_dataset(frames, tmp_path, 0.2, 0.2)


def test_one_level_can_be_chosen_from_several(tmp_path: Path) -> None:
    frames = _frames()[:10]
    for k, atoms in enumerate(frames):
        atoms.info["REF_level_sha256"] = ("a" if k < 6 else "b") * 64
    dataset = write_dataset(frames, tmp_path, 0.2, 0.0, level_sha256="a" * 64)
    assert sum(dataset.counts.values()) == 6 and dataset.level_sha256 == "a" * 64


def test_bootstrap_resamples_with_replacement(tmp_path: Path) -> None:
    dataset = write_dataset(_frames(), tmp_path, 0.2, 0.0)
    resampled = read(bootstrap(dataset.files["train"], 3, tmp_path / "b.extxyz"), ":")
    assert isinstance(resampled, list) and len(resampled) == dataset.counts["train"]
    assert len({a.positions.tobytes() for a in resampled}) < len(resampled)


def _job(
    tmp_path: Path, strategy: str, training: TrainingSpec | None = None, **extra: object
) -> MemberJob:
    dataset = write_dataset(_frames(), tmp_path / "data", 0.2, 0.2)
    return MemberJob(
        "member0", 7, strategy, dataset, {1: -10.5, 8: -118.25}, training or TrainingSpec(),  # type: ignore[arg-type]
        tmp_path, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_each_strategy_gets_its_own_mace_arguments(tmp_path: Path) -> None:
    scratch = mace_arguments(_job(tmp_path, "from_scratch"))
    assert "--model=ScaleShiftMACE" in scratch and "--multiheads_finetuning=False" in scratch
    assert "--pair_repulsion" not in scratch
    zbl = mace_arguments(_job(tmp_path, "from_scratch", TrainingSpec(pair_repulsion=True)))
    assert "--pair_repulsion" in zbl
    assert "--E0s={1: -10.5, 8: -118.25}" in scratch and "--seed=7" in scratch
    assert any(a.startswith("--test_file=") for a in scratch)
    naive = mace_arguments(_job(tmp_path, "fine_tune_naive"), Path("f.model"))
    # without it mace 0.3.16 turns on multihead fine-tuning and tries to download replay data
    assert "--multiheads_finetuning=False" in naive and "--foundation_model=f.model" in naive
    assert not any(a.startswith("--num_channels") for a in naive)  # the foundation's own
    assert "--lr=0.001" in naive and "--ema" in naive and "--ema_decay=0.99" in naive
    replay = tmp_path / "replay.extxyz"
    multi = mace_arguments(_job(tmp_path, "fine_tune_multihead", replay_file=replay), Path("f"))
    # mace's own safe lr and EMA for multihead fine-tuning, unless the spec asks otherwise
    assert f"--pt_train_file={replay}" in multi and "--force_mh_ft_lr=True" not in multi
    assert "--loss=universal" in multi and "--lr=0.0001" in multi
    asked = TrainingSpec(learning_rate=0.003)
    multi = mace_arguments(
        _job(tmp_path, "fine_tune_multihead", asked, replay_file=replay), Path("f")
    )
    assert "--force_mh_ft_lr=True" in multi and "--lr=0.003" in multi
    with pytest.raises(WiseAlError, match="replay"):
        mace_arguments(_job(tmp_path, "fine_tune_multihead"), Path("f"))
    with pytest.raises(WiseAlError, match="foundation"):
        mace_arguments(_job(tmp_path, "fine_tune_naive"))
    assert e0s_argument({8: -1.0, 1: 0.1}) == "{1: 0.1, 8: -1.0}"


def test_stress_is_trained_only_when_weighted_and_labelled(tmp_path: Path) -> None:
    periodic = read(STRESS_DATA, ":")
    assert isinstance(periodic, list)
    weighted = TrainingSpec(stress_weight=1.0)
    with_stress = write_dataset(periodic, tmp_path / "stress", 0.2, 0.2)
    assert with_stress.stress_frames == with_stress.counts["train"] > 0
    run = effective_training("from_scratch", weighted, with_stress.stress_frames)
    assert run["loss"] == "stress" and run["stress_trained"] and run["stress_weight"] == 1.0
    # mace's default loss ignores --stress_weight: unweighted, the arguments say weighted, 0
    unweighted = mace_arguments(_job(tmp_path, "from_scratch"))
    assert "--loss=weighted" in unweighted and "--stress_weight=0.0" in unweighted
    # weighted, but clusters carry no stress: nothing to learn it from
    clusters = mace_arguments(_job(tmp_path, "from_scratch", weighted))
    assert "--loss=weighted" in clusters and "--stress_weight=0.0" in clusters
    assert effective_training("fine_tune_naive", TrainingSpec(), 0)["bootstrap"]
    assert not effective_training("from_scratch", TrainingSpec(), 0)["bootstrap"]


@pytest.mark.parametrize(
    "spec",
    [
        LabellingSpec(),
        LabellingSpec(method="dft", functional="revPBE", dispersion="D3", cutoff_Ry=600),
        LabellingSpec(method="dft", basis_per_element={"Li": "SZV-MOLOPT-SR-GTH"}),
        LabellingSpec(cp2k_overrides={"force_eval": {"dft": {"qs": {"eps_default": 1e-12}}}}),
        LabellingSpec(method="dft", functional="r2SCAN", dispersion="D3BJ"),
    ],
)
def test_a_level_record_gives_back_its_spec(spec: LabellingSpec, tmp_path: Path) -> None:
    cp2k = fake_installation(tmp_path)
    record = level_of_theory(spec, ["H", "Li", "O"], cp2k)
    assert level_of_theory(spec_from_level(record), ["H", "Li", "O"], cp2k) == record
    with pytest.raises(WiseAlError, match="not a level-of-theory record"):
        spec_from_level({"method": "GPW-DFT"})


def test_foundations_resolve_to_files_or_say_why_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "models" / "f.model"
    model.parent.mkdir()
    model.write_bytes(b"x")
    assert resolve_foundation("models/f.model", tmp_path) == model
    with pytest.raises(WiseAlError, match="does not exist"):
        resolve_foundation("models/none.model", tmp_path)
    # Offline, mace's own loader fails and we say what to do. Mocked: the network (this
    # machine has none, but a test must not download 200 MB where there is one).
    import urllib.error
    import urllib.request

    def offline(*_args: object, **_kwargs: object) -> None:
        raise urllib.error.URLError("offline")

    monkeypatch.setenv("HOME", str(tmp_path))  # no cached weights either
    monkeypatch.setattr(urllib.request, "urlretrieve", offline)
    with pytest.raises(WiseAlError, match=r"pass the \.model file instead"):
        resolve_foundation("small-0b", tmp_path)


def _walker_frames(runs: int, frames_per_run: int) -> list[Atoms]:
    """Labelled frames saved every 10 MD steps by ``runs`` walker runs (5 fs apart)."""
    source = _frames()
    out = []
    for run in range(runs):
        for k in range(frames_per_run):
            atoms = source[(run * frames_per_run + k) % len(source)].copy()
            atoms.positions += 1e-3 * k  # each frame its own structure
            atoms.info["split_group"] = split_group(run + 1, 10 * k, 0.5)
            out.append(atoms)
    return out


def test_frames_of_one_walker_never_land_in_both_train_and_test(tmp_path: Path) -> None:
    frames = _walker_frames(runs=30, frames_per_run=6)
    dataset = write_dataset(frames, tmp_path, 0.2, 0.2)
    assert dataset.counts["test"] > 0 and dataset.counts["train"] > 0
    split_of_run: dict[str, set[str]] = {}
    for split, path in dataset.files.items():
        written = read(path, ":")
        assert isinstance(written, list)
        for atoms in written:
            split_of_run.setdefault(str(atoms.info["split_group"]), set()).add(split)
    assert all(len(splits) == 1 for splits in split_of_run.values()), split_of_run
    # the structure-hash rule would have cut walker runs across train and test
    by_structure: dict[str, set[str]] = {}
    for atoms in frames:
        bare = atoms.copy()
        bare.info.pop("split_group")
        by_structure.setdefault(atoms.info["split_group"], set()).add(split_of(bare, 0.2, 0.2))
    assert any({"train", "test"} <= splits for splits in by_structure.values())


def test_a_single_held_out_walker_run_is_still_trained_on(tmp_path: Path) -> None:
    frames = _walker_frames(runs=1, frames_per_run=3)
    for run in range(1, 200):  # find a walker run whose group the hash puts in test
        group = split_group(run, 0, 0.5)
        for atoms in frames:
            atoms.info["split_group"] = group
        if split_of(frames[0], 0.1, 0.1) == "test":
            break
    dataset = write_dataset(frames, tmp_path, 0.1, 0.1)
    assert dataset.counts == {"train": 2, "valid": 1, "test": 0}


def test_long_walker_runs_split_in_blocks_that_stay_whole() -> None:
    assert split_group(7, 0, 0.5) == split_group(7, 10_000, 0.5) == "walker-run-7"
    assert split_group(7, 399, 0.5, block_fs=200.0) == "walker-run-7/block-0"
    assert split_group(7, 400, 0.5, block_fs=200.0) == "walker-run-7/block-1"


def _water_cells() -> list[Atoms]:
    frames = read(STRESS_DATA, ":12")
    assert isinstance(frames, list)
    return frames


def test_outlier_labels_stay_out_of_training_with_the_reason(tmp_path: Path) -> None:
    frames = _water_cells()  # ordinary labels: forces under 10 eV/Å, 0.05 eV/atom MAD
    for k, atoms in enumerate(frames):
        atoms.info["label_id"] = 100 + k
    frames[2].arrays["REF_forces"][1] = [0.0, 25.0, 0.0]  # an overlap's force
    frames[5].info["REF_energy"] += 1.5 * len(frames[5])  # 1.5 eV/atom off the rest
    dataset = write_dataset(
        frames, tmp_path, 0.2, 0.2, max_force_eV_per_A=20.0, energy_outlier_mads=10.0
    )
    reasons = {entry["label_id"]: entry["reason"] for entry in dataset.excluded}
    assert set(reasons) == {102, 105}
    assert "force 25.0 eV/Å on atom 1 exceeds 20 eV/Å" in reasons[102]
    assert "energy +1.4" in reasons[105] and "eV/atom from the median" in reasons[105]
    assert sum(dataset.counts.values()) == 10
    written = [a for path in dataset.files.values() for a in read(path, ":")]
    assert {a.info["label_id"] for a in written} == set(range(100, 112)) - {102, 105}
    clean = write_dataset(_water_cells(), tmp_path / "clean", 0.2, 0.2, max_force_eV_per_A=20.0,
                          energy_outlier_mads=10.0)  # fmt: skip
    assert clean.excluded == ()  # ordinary labels are never called outliers


def test_an_external_test_set_is_checked_before_it_is_scored(tmp_path: Path) -> None:
    good = tmp_path / "aimd.extxyz"
    frames = _frames()[:4]
    write(good, frames, format="extxyz")
    assert check_external_test(good, "a" * 64) == good  # frames that record no level
    for atoms in frames:
        atoms.info["REF_level_sha256"] = "b" * 64
    other = tmp_path / "other.extxyz"
    write(other, frames, format="extxyz")
    with pytest.raises(WiseAlError, match="frame 0 is at level of theory bbbbbbbbbbbb"):
        check_external_test(other, "a" * 64)
    unlabelled = tmp_path / "bare.extxyz"
    write(unlabelled, [Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])], format="extxyz")
    with pytest.raises(WiseAlError, match=r"bare\.extxyz: frame 0 has no REF_energy"):
        check_external_test(unlabelled, None)
    with pytest.raises(WiseAlError, match="does not exist"):
        check_external_test(tmp_path / "none.extxyz", None)
