"""An ASE calculator driven by a committee: the mean (or one member) moves the atoms."""

from __future__ import annotations

from typing import Any

from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from wise_al.mace.committee import Committee
from wise_al.uncertainty import frame_deviation


class CommitteeCalculator(Calculator):
    """Energies and forces from a :class:`Committee`, with its disagreement attached.

    Parameters
    ----------
    committee
        The loaded committee.
    driver
        ``committee_mean`` (MD on the mean force) or ``member`` (MD on member ``member``).
    member
        Which member drives when ``driver="member"``.

    Notes
    -----
    ``results`` also holds ``committee_energies`` (members,), ``committee_forces``
    (members, atoms, 3) and ``deviation`` (:class:`wise_al.uncertainty.Deviation`), so an
    observer reads the committee's view of the frame without evaluating it again.
    """

    implemented_properties = ["energy", "free_energy", "forces"]  # noqa: RUF012 (ASE's API)

    def __init__(
        self, committee: Committee, driver: str = "committee_mean", member: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if driver not in ("committee_mean", "member"):
            raise ValueError(f"driver must be committee_mean or member, not {driver!r}")
        self.committee = committee
        self.driver = driver
        self.member = member

    def calculate(
        self, atoms: Atoms | None = None, properties: Any = None, system_changes: Any = all_changes
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        assert self.atoms is not None
        prediction = self.committee.predict([self.atoms])
        energies, forces = prediction.energies_eV[:, 0], prediction.forces_eV_per_A[0]
        if self.driver == "member":
            energy, force = float(energies[self.member]), forces[self.member]
        else:
            energy, force = float(energies.mean()), forces.mean(axis=0)
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "forces": force,
            "committee_energies": energies,
            "committee_forces": forces,
            "deviation": frame_deviation(energies, forces),
        }
