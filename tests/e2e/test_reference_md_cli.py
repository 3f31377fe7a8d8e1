"""`wise-al reference-md` as a user runs it: CP2K's own MD, each frame's label checked
against an independent CP2K single point on the same positions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from ase.io import read, write

from tests.support.cli import Cli
from tests.support.cp2k_fixtures import li_water, needs_cp2k
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.installation import detect
from wise_al.cp2k.label import Labeller
from wise_al.cp2k.run import LaunchProfile
from wise_al.datasets.check import check_dataset
from wise_al.mace.datasets import check_external_test

pytestmark = [needs_cp2k, pytest.mark.slow]


def test_reference_frames_carry_cp2ks_own_numbers_at_the_campaigns_level(tmp_path: Path) -> None:
    start = tmp_path / "start.extxyz"
    write(start, li_water(1))
    out = tmp_path / "reference.extxyz"
    cli = Cli({**os.environ, "WISE_AL_HOME": str(tmp_path / "home")}, timeout_s=600)
    args = ["reference-md", str(start), "-T", "300", "-T", "450", "--steps", "10"]
    report = cli.json(*args, "--equilibration-steps", "0", "--save-every", "5", "-o", str(out))
    assert [r["temperature_K"] for r in report["runs"]] == [300, 450]
    assert [r["frames"] for r in report["runs"]] == [2, 2]
    assert json.loads(out.with_name(out.name + ".json").read_text())["frames"] == 4
    frames = read(out, index=":")
    assert isinstance(frames, list) and len(frames) == 4
    assert [a.info["md_step"] for a in frames] == [5, 10, 5, 10]
    assert [a.info["temperature_K"] for a in frames] == [300, 300, 450, 450]
    # the same positions through the labeller (its units checked against ASE's CP2K
    # calculator elsewhere): the MD's energies and forces are the labels' numbers
    labeller = Labeller(LabellingSpec(), detect(), LaunchProfile(), tmp_path / "labels")
    for atoms in (frames[1], frames[3]):
        single = labeller.label(atoms)
        assert single.ok and single.energy_eV is not None
        assert abs(single.energy_eV - atoms.info["REF_energy"]) < 1e-5
        assert single.forces_eV_per_A is not None
        np.testing.assert_allclose(single.forces_eV_per_A, atoms.arrays["REF_forces"], atol=2e-4)
        assert single.level_sha256 == atoms.info["REF_level_sha256"]
    # they serve as an upload and as an external test set at that level
    level = frames[0].info["REF_level_sha256"]
    assert check_dataset(out, "labelled", level).frames == 4
    assert check_external_test(out, level) == out
    # two temperatures are two split groups: held out as whole runs
    assert {a.info["split_group"] for a in frames} == {"reference-md-300K", "reference-md-450K"}


def test_without_a_start_or_a_spec_it_fails_with_one_line(tmp_path: Path) -> None:
    cli = Cli({**os.environ, "WISE_AL_HOME": str(tmp_path / "home")})
    line = cli.fails("reference-md", "-o", str(tmp_path / "x.extxyz"))
    assert "give a start" in line
