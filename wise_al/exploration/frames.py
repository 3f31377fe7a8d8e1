"""How a saved frame carries the committee's verdict, in memory and in extxyz."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ase import Atoms

from wise_al.flags import Flag
from wise_al.flags.checker import breaks_run
from wise_al.uncertainty import Deviation, FrameClass


@dataclass(frozen=True)
class SavedFrame:
    """One saved MD frame with its deviation, class and flags."""

    step: int
    atoms: Atoms
    deviation: Deviation
    frame_class: FrameClass
    flags: tuple[Flag, ...]

    def annotated(self) -> Atoms:
        """A copy of the atoms with the verdict in ``info`` / ``arrays`` (extxyz-ready)."""
        atoms = self.atoms.copy()
        atoms.calc = None
        atoms.info.update(
            {
                "md_step": self.step,
                "max_deviation_eV_per_A": self.deviation.max_eV_per_A,
                "mean_deviation_eV_per_A": self.deviation.mean_eV_per_A,
                "energy_std_eV_per_atom": self.deviation.energy_std_eV_per_atom,
                "frame_class": str(self.frame_class),
                # extxyz drops backslashes from info strings: keep the JSON free of \u escapes
                "flags": json.dumps([f.to_dict() for f in self.flags], ensure_ascii=False),
            }
        )
        atoms.arrays["atom_deviation_eV_per_A"] = self.deviation.atom_eV_per_A.copy()
        return atoms

    @property
    def breaking_flags(self) -> tuple[Flag, ...]:
        """The flags that say the trajectory broke here (a stopping flag, a Li⁺ contact)."""
        return tuple(flag for flag in self.flags if breaks_run(flag, self.atoms))

    @property
    def unphysical(self) -> bool:
        """True when a flag says the dynamics went where no physical system goes."""
        return bool(self.breaking_flags)
