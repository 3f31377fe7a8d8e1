"""An ASE calculator driven by a committee: the mean (or one member) moves the atoms."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from wise_al.mace.committee import Committee
from wise_al.uncertainty import Deviation, frame_deviation


class CommitteeCalculator(Calculator):
    """Energies and forces from a :class:`Committee`, with its disagreement at hand.

    Parameters
    ----------
    committee
        The loaded committee.
    driver
        ``committee_mean`` (MD on the mean force, every member evaluated at every step) or
        ``member`` (MD on member ``member`` alone: one model per step, the single-model cost).
    member
        Which member drives when ``driver="member"``.

    Notes
    -----
    :meth:`committee_deviation` gives the committee's view of the current geometry. Under
    ``committee_mean`` it was computed with the step; under ``member`` the other members are
    evaluated only when it is asked for (an observer on saved frames), so the trajectory is
    the driving member's own, step for step. Once asked, ``results`` also holds
    ``committee_energies`` (members,), ``committee_forces`` (members, atoms, 3) and
    ``deviation`` (:class:`wise_al.uncertainty.Deviation`).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]  # noqa: RUF012

    def __init__(
        self, committee: Committee, driver: str = "committee_mean", member: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if driver not in ("committee_mean", "member"):
            raise ValueError(f"driver must be committee_mean or member, not {driver!r}")
        if not 0 <= member < len(committee):
            raise ValueError(f"member {member} is not in a committee of {len(committee)}")
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
        driving = [self.member] if self.driver == "member" else None
        prediction = self.committee.predict([self.atoms], compute_stress=stress, members=driving)
        energies, forces = prediction.energies_eV[:, 0], prediction.forces_eV_per_A[0]
        energy, force = float(energies.mean()), forces.mean(axis=0)
        if prediction.stress_eV_per_A3 is not None:
            self.results["stress"] = full_3x3_to_voigt_6_stress(
                prediction.stress_eV_per_A3[:, 0].mean(axis=0)
            )
        self.results.update({"energy": energy, "free_energy": energy, "forces": force})
        if driving is None:
            self._attach_committee(energies, forces)

    def _attach_committee(self, energies: np.ndarray, forces: np.ndarray) -> None:
        self.results.update(
            {
                "committee_energies": energies,
                "committee_forces": forces,
                # one model (exploring with the foundation alone) has no spread to measure
                "deviation": frame_deviation(energies, forces)
                if len(energies) > 1
                else Deviation.unjudged(forces.shape[1]),
            }
        )

    def committee_deviation(self) -> Deviation:
        """The committee's disagreement on the geometry last calculated.

        Under ``driver="member"`` this evaluates the members that did not drive (once per
        geometry) and stacks them with the driver's own prediction in member order.
        """
        if "deviation" not in self.results:
            if "forces" not in self.results or self.atoms is None:
                raise RuntimeError("committee_deviation needs a calculated geometry first")
            others = [k for k in range(len(self.committee)) if k != self.member]
            energies = np.array([self.results["energy"]])
            forces = self.results["forces"][None]
            if others:
                rest = self.committee.predict([self.atoms], members=others)
                energies = np.insert(rest.energies_eV[:, 0], self.member, energies[0])
                forces = np.insert(rest.forces_eV_per_A[0], self.member, forces[0], axis=0)
            self._attach_committee(energies, forces)
        deviation: Deviation = self.results["deviation"]
        return deviation
