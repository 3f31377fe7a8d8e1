"""An ASE calculator driven by a committee: the mean (or one member) moves the atoms."""

from __future__ import annotations

from typing import Any

from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from wise_al.mace.committee import Committee
from wise_al.uncertainty import Deviation, frame_deviation


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

    implemented_properties = ["energy", "free_energy", "forces", "stress"]  # noqa: RUF012

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
        # stress costs a second derivative: only when asked (NPT), and only in periodic cells
        stress = bool(properties and "stress" in properties and self.atoms.pbc.all())
        prediction = self.committee.predict([self.atoms], compute_stress=stress)
        energies, forces = prediction.energies_eV[:, 0], prediction.forces_eV_per_A[0]
        pick = (lambda a: a[self.member]) if self.driver == "member" else (lambda a: a.mean(0))
        energy, force = float(pick(energies)), pick(forces)
        if prediction.stress_eV_per_A3 is not None:
            self.results["stress"] = full_3x3_to_voigt_6_stress(
                pick(prediction.stress_eV_per_A3[:, 0])
            )
        self.results.update(
            {
                "energy": energy,
                "free_energy": energy,
                "forces": force,
                "committee_energies": energies,
                "committee_forces": forces,
                # one model (exploring with the foundation alone) has no spread to measure
                "deviation": frame_deviation(energies, forces)
                if len(energies) > 1
                else Deviation.unjudged(len(force)),
            }
        )
