"""CP2K's relaxation with atoms held in place: the constrained Li⁺–Li⁺ scan's building block."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.cp2k_fixtures import li_water, needs_cp2k
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.cp2k.installation import detect
from wise_al.cp2k.md import relaxation_path
from wise_al.cp2k.run import LaunchProfile


@needs_cp2k
def test_held_atoms_stay_where_they_are_while_the_rest_relaxes(tmp_path: Path) -> None:
    atoms = li_water(side_A=10.0)
    atoms.rattle(0.05, seed=1)  # off the minimum: the free atoms must move
    held = [0, 1]
    path = relaxation_path(LabellingSpec(), atoms, 3, detect(), LaunchProfile(), tmp_path, held)
    assert len(path) >= 2
    moved = np.linalg.norm(path[-1].positions - atoms.positions, axis=1)
    # CP2K writes 10 decimals; held atoms do not move at all
    assert moved[held].max() < 1e-6
    assert moved[2:].max() > 1e-3
