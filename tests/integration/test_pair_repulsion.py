"""MACE's ZBL pair repulsion for from-scratch models: two Li⁺ pushed together are repelled
even by a model that never saw a Li–Li pair (the labels hold one Li per cluster).

Independent computation: MACE's repulsion written out here from its definition, which is
not textbook ZBL and is worth knowing before relying on it:

- the screening length is ``0.4543 a0 / (Z1^0.3 + Z2^0.3)`` (ZBL's is ``0.8854 a0 /
  (Z1^0.23 + Z2^0.23)``), with ZBL's four exponentials;
- a polynomial envelope (p = 6) switches it off at the sum of the covalent radii
  (2.56 Å for Li–Li), so it acts only on real overlaps;
- ``ScaleShiftMACE`` adds it to the learned node energies *before* scaling: the repulsion a
  model applies is its energy scale (the training set's, here ~9) times the formula.

At 0.4 Å it dominates the learned energy, so the model's energy rise from 3 Å to 0.4 Å must
come close to scale x formula with the term, and stay far below it without.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.data import covalent_radii
from ase.units import Bohr
from pydantic import ValidationError

from tests.support.factories import example_spec, with_value
from tests.support.mace_models import train_tiny_member
from wise_al.campaign_spec import CampaignSpec
from wise_al.mace.committee import Committee

pytestmark = pytest.mark.slow

COULOMB_EV_A = 14.3996  # e² / (4π ε0) in eV Å


def mace_repulsion_eV(z1: int, z2: int, r_A: float, p: int = 6) -> float:
    """The pair energy of MACE's ZBL term (before the model's scale), from its definition."""
    x = r_A / (0.4543 * Bohr / (z1**0.3 + z2**0.3))
    phi = (
        0.1818 * np.exp(-3.2 * x)
        + 0.5099 * np.exp(-0.9423 * x)
        + 0.2802 * np.exp(-0.4028 * x)
        + 0.02817 * np.exp(-0.2016 * x)
    )
    u = r_A / (covalent_radii[z1] + covalent_radii[z2])
    envelope = 0.0
    if u < 1:
        envelope = 1 - (p + 1) * (p + 2) / 2 * u**p + p * (p + 2) * u ** (p + 1)
        envelope -= p * (p + 1) / 2 * u ** (p + 2)
    return float(COULOMB_EV_A * z1 * z2 / r_A * phi * envelope)


def _li_pair(r_A: float) -> Atoms:
    return Atoms("Li2", positions=[(5, 5, 5), (5 + r_A, 5, 5)], cell=[20.0] * 3, pbc=False)


def test_pair_repulsion_repels_a_li_pair_no_label_ever_showed(tmp_path: Path) -> None:
    rises, scales = {}, {}
    for name, extra in (("plain", ()), ("zbl", ("--pair_repulsion",))):
        model = train_tiny_member(tmp_path / name, seed=0, epochs=2, extra=extra)
        committee = Committee([model], device="cpu", min_members=1)
        energies = committee.predict([_li_pair(0.4), _li_pair(3.0)]).energies_eV[0]
        rises[name] = float(energies[0] - energies[1])
        module = torch.load(model, map_location="cpu", weights_only=False)
        scales[name] = float(module.scale_shift.scale.flatten()[0])
    formula = mace_repulsion_eV(3, 3, 0.4) - mace_repulsion_eV(3, 3, 3.0)  # 19.8 eV, 0 at 3 Å
    assert mace_repulsion_eV(3, 3, 3.0) == 0.0  # beyond the covalent radii: no term at all
    expected = scales["zbl"] * formula
    assert rises["zbl"] == pytest.approx(expected, rel=0.15), (rises, scales)
    assert rises["plain"] < 0.2 * expected, rises


def test_pair_repulsion_is_a_from_scratch_option() -> None:
    spec = with_value(example_spec(), "model.training.pair_repulsion", True)
    with pytest.raises(ValidationError, match="pair_repulsion applies to strategy 'from_scratch'"):
        CampaignSpec.model_validate(spec)
