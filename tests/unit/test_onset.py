"""A trajectory that breaks: its candidates are the frames leading into the break (the
onset, kept whatever the committee says), never the collapsed state after it; selection
takes those onset frames first, from walkers or validation MD alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule
from ase.io import write

from tests.support.factories import example_spec
from wise_al.campaign_spec import parse_spec
from wise_al.campaign_spec.exploration import FlagsSpec, SelectionSpec, UncertaintySpec
from wise_al.exploration.frames import SavedFrame
from wise_al.exploration.onset import kept_frames
from wise_al.flags import FlagChecker
from wise_al.jobs.starts import continued_start, why_broken
from wise_al.selection import Candidate, select_frames
from wise_al.selection.registry import STRATEGIES
from wise_al.uncertainty import Deviation, FrameClass

WINDOW = UncertaintySpec(trust_lo_eV_per_A=0.05, trust_hi_eV_per_A=0.30)


@pytest.fixture(scope="module")
def cell() -> Atoms:
    """Two Li⁺ in a 20 Å box, two waters far from the path one Li⁺ walks along."""
    water = molecule("H2O")
    atoms = Atoms("Li2", positions=[[5, 10, 10], [11, 10, 10]], cell=[20, 20, 20], pbc=True)
    for centre in ([8, 16, 4], [8, 4, 16]):
        atoms += Atoms(water.symbols, water.positions + centre)
    return atoms


def _approach(cell: Atoms, distances_A: list[float]) -> list[SavedFrame]:
    """Frames where Li 1 walks towards Li 0 (one per distance), judged as accurate, with the
    flags a checker configured on the start raises."""
    checker = FlagChecker(FlagsSpec(), cell)
    li = [i for i, s in enumerate(cell.get_chemical_symbols()) if s == "Li"]
    frames = []
    for k, distance in enumerate(distances_A):
        atoms = cell.copy()
        direction = np.array([1.0, 0.0, 0.0])
        atoms.positions[li[1]] = atoms.positions[li[0]] + distance * direction
        deviation = Deviation(np.full(len(atoms), 0.01), 0.01, 0.01, 0.0)
        flags = tuple(checker.check(atoms))
        frames.append(SavedFrame(10 * (k + 1), atoms, deviation, FrameClass.ACCURATE, flags))
    return frames


def _li_li(frame: SavedFrame) -> float:
    li = [i for i, s in enumerate(frame.atoms.get_chemical_symbols()) if s == "Li"]
    return float(frame.atoms.get_distance(li[0], li[1], mic=True))


def test_the_onset_of_a_li_contact_is_kept_and_the_collapse_is_not(cell: Atoms) -> None:
    # 6 Å ... 2.4 Å (under the 2.6 Å contact: the break), then fused at 1.0 and 0.5 Å
    frames = _approach(cell, [6.0, 5.5, 5.0, 4.0, 3.2, 2.8, 2.4, 1.0, 0.5])
    kept = kept_frames(frames, keep_all=False, onset_frames=3)
    # the committee called every frame accurate: only the onset survives, in time order
    assert [k.frame.step for k in kept] == [40, 50, 60, 70]
    assert all(k.onset_of_step == 70 for k in kept)
    assert [round(_li_li(k.frame), 1) for k in kept] == [4.0, 3.2, 2.8, 2.4]
    # with every frame kept (no committee), still nothing after the break
    every = kept_frames(frames, keep_all=True, onset_frames=3)
    assert [k.frame.step for k in every] == [10, 20, 30, 40, 50, 60, 70]
    assert [k.onset_of_step for k in every[:3]] == [None, None, None]


def test_a_frame_whose_atoms_overlap_is_not_a_candidate(cell: Atoms) -> None:
    # Li–Li 0.3 Å: an overlap at once (CP2K would refuse to label it)
    frames = _approach(cell, [6.0, 5.0, 4.0, 3.0, 0.3])
    assert "overlap" in {f.kind for f in frames[-1].flags}
    kept = kept_frames(frames, keep_all=False, onset_frames=3)
    assert [(k.frame.step, k.onset_of_step) for k in kept] == [(20, 50), (30, 50), (40, 50)]


def test_an_intact_trajectory_keeps_what_the_committee_questions(cell: Atoms) -> None:
    frames = _approach(cell, [6.0, 5.0, 4.0])
    doubted = SavedFrame(
        frames[1].step, frames[1].atoms, frames[1].deviation, FrameClass.CANDIDATE, ()
    )
    kept = kept_frames([frames[0], doubted, frames[2]], keep_all=False)
    assert [(k.frame.step, k.onset_of_step) for k in kept] == [(20, None)]


def _candidate(index: int, descriptor: list[float], **extra: object) -> Candidate:
    return Candidate(index, 0.01, (), np.array(descriptor, dtype=float), **extra)  # type: ignore[arg-type]


def test_onset_frames_go_first_skip_deduplication_and_name_their_source() -> None:
    frames = [
        # the committee calls these accurate, and their descriptors are near twins
        _candidate(0, [0.0, 0.0], source="validation", onset_of_step=70),
        _candidate(1, [0.0, 0.001], source="validation", onset_of_step=70),
        _candidate(2, [0.0, 0.002], source="walker", onset_of_step=30),
        # an ordinary candidate of the walkers, in the window
        Candidate(3, 0.2, (), np.array([5.0, 5.0])),
    ]
    spec = SelectionSpec(budget_per_iteration=3)
    decisions = {d.index: d for d in select_frames(frames, spec, WINDOW)}
    assert [i for i, d in decisions.items() if d.selected] == [0, 1, 2]
    assert "onset of the validation break at step 70" in decisions[0].reason
    assert "(validation MD)" in decisions[0].reason
    assert "onset of the walker break at step 30" in decisions[2].reason
    assert decisions[3].reason == "over the budget of 3"


def test_every_strategy_the_spec_offers_is_registered() -> None:
    field = SelectionSpec.model_fields["strategy"]
    offered = set(field.annotation.__args__)  # type: ignore[union-attr]
    assert offered == set(STRATEGIES)


def test_walkers_continue_from_the_last_intact_frame(cell: Atoms, tmp_path: Path) -> None:
    spec = parse_spec(example_spec("demo"))
    frames = [f.atoms for f in _approach(cell, [6.0, 5.0, 4.0, 2.4, 1.0])]
    walker, broken = tmp_path / "walker-0.extxyz", tmp_path / "broken.extxyz"
    write(walker, frames)
    write(broken, frames[3:])  # in contact from its first frame: nothing to continue from
    found = continued_start(
        [("missing", tmp_path / "nope.extxyz"), ("broken", broken), ("walker", walker)],
        spec,
        298.15,
    )
    assert found is not None and found.origin == "continues walker at frame 2"
    assert found.refused == [
        "missing: missing or broken from its start",
        "broken: missing or broken from its start",
    ]
    li = [a.index for a in found.atoms if a.symbol == "Li"]
    assert found.atoms.get_distance(li[0], li[1], mic=True) == pytest.approx(4.0)
    assert not found.atoms.get_momenta().any()  # the MD draws new velocities
    assert why_broken(found.atoms, spec, 298.15) is None
    assert "Li" in str(why_broken(frames[3], spec, 298.15))
