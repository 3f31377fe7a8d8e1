"""Queries on reference energies: one row of isolated-atom energies per campaign."""

from __future__ import annotations

from sqlalchemy import select

from wise_al.db.base import utcnow
from wise_al.db.models import ReferenceEnergies, RunStatus
from wise_al.db.repositories.base import Repository
from wise_al.errors import NotFoundError


class ReferenceEnergiesRepository(Repository[ReferenceEnergies]):
    """The E0s of campaigns, at each campaign's level of theory."""

    model = ReferenceEnergies
    noun = "reference energies"

    def find(self, campaign_id: int) -> ReferenceEnergies | None:
        """The campaign's row, if its E0s unit has ended."""
        return self.session.scalars(
            select(ReferenceEnergies).where(ReferenceEnergies.campaign_id == campaign_id)
        ).one_or_none()

    def _row(self, campaign_id: int) -> ReferenceEnergies:
        row = self.find(campaign_id)
        if row is None:
            row = ReferenceEnergies(campaign_id=campaign_id)
            self.session.add(row)
        return row

    def record(self, campaign_id: int, energies_eV: dict[int, float]) -> ReferenceEnergies:
        """Store the energies (eV per atomic number); a stored success is never replaced."""
        row = self._row(campaign_id)
        if row.status != RunStatus.DONE:
            row.status, row.error = RunStatus.DONE, None
            row.energies_eV = {str(z): float(e) for z, e in sorted(energies_eV.items())}
            row.finished_at = utcnow()
        self.session.flush()
        return row

    def record_failure(self, campaign_id: int, error: str) -> None:
        """Record why the energies could not be computed (a success stays)."""
        row = self._row(campaign_id)
        if row.status != RunStatus.DONE:
            row.status, row.error, row.finished_at = RunStatus.FAILED, error, utcnow()
        self.session.flush()

    def energies(self, campaign_id: int) -> dict[int, float]:
        """The campaign's E0s in eV by atomic number; :class:`NotFoundError` if not computed."""
        row = self.find(campaign_id)
        if row is None or row.status != RunStatus.DONE:
            raise NotFoundError(f"campaign {campaign_id} has no isolated-atom energies yet")
        return {int(z): float(e) for z, e in row.energies_eV.items()}
