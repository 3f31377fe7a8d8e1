"""Queries on model versions: the members of each iteration's committee."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from wise_al.db.models import ModelVersion, RunStatus
from wise_al.db.repositories.base import Repository


class ModelVersionRepository(Repository):
    """Committee members, one row per member and iteration."""

    def record_committee(
        self,
        campaign_id: int,
        iteration_index: int,
        manifest: dict[str, Any],
        parent_id: int | None = None,
    ) -> list[ModelVersion]:
        """Store the members a fit recorded (``committee.json``); repeating it changes nothing.

        ``parent_id`` is the model version fine-tuned from, when it is one of the campaign's.
        """
        existing = {
            v.member_index: v
            for v in self.session.scalars(
                select(ModelVersion).where(
                    ModelVersion.campaign_id == campaign_id,
                    ModelVersion.iteration_index == iteration_index,
                )
            )
        }
        versions = []
        for index, member in enumerate(manifest["members"]):
            version = existing.get(index)
            if version is None:
                version = ModelVersion(
                    campaign_id=campaign_id,
                    iteration_index=iteration_index,
                    member_index=index,
                    parent_id=parent_id,
                    strategy=manifest["strategy"],
                    status=RunStatus.DONE,
                    training_set_sha256=manifest["dataset"]["sha256"],
                    metrics={
                        "errors": member["errors"],
                        "seed": member["seed"],
                        "log": member["log"],
                        "parent": manifest["parent"],
                        "e0s_eV": manifest["e0s_eV"],
                        "level_sha256": manifest["dataset"]["level_sha256"],
                    },
                    file_path=member["file"],
                    file_sha256=member["sha256"],
                )
                self.session.add(version)
            versions.append(version)
        self.session.flush()
        return versions

    def committee(self, campaign_id: int, iteration_index: int) -> list[ModelVersion]:
        """The members of one iteration, by member index."""
        return list(
            self.session.scalars(
                select(ModelVersion)
                .where(
                    ModelVersion.campaign_id == campaign_id,
                    ModelVersion.iteration_index == iteration_index,
                )
                .order_by(ModelVersion.member_index)
            )
        )
