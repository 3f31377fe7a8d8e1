"""Queries on model versions: the members of each iteration's committee."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from wise_al.db.models import ModelVersion, RunStatus
from wise_al.db.repositories.base import Repository
from wise_al.errors import NotFoundError


class ModelVersionRepository(Repository):
    """Committee members, one row per member and iteration."""

    def record_member(
        self,
        campaign_id: int,
        iteration_index: int,
        member_index: int,
        *,
        strategy: str,
        record: dict[str, Any],
        dataset_sha256: str,
        parent: dict[str, Any] | None,
        e0s_eV: dict[str, float] | None = None,
        level_sha256: str | None = None,
        parent_id: int | None = None,
    ) -> ModelVersion:
        """Store one trained member (a fit's ``member_record``); repeating it changes nothing."""
        version = self.session.scalars(
            select(ModelVersion).where(
                ModelVersion.campaign_id == campaign_id,
                ModelVersion.iteration_index == iteration_index,
                ModelVersion.member_index == member_index,
            )
        ).one_or_none()
        if version is not None:
            return version
        version = ModelVersion(
            campaign_id=campaign_id,
            iteration_index=iteration_index,
            member_index=member_index,
            parent_id=parent_id,
            strategy=strategy,
            status=RunStatus.DONE,
            training_set_sha256=dataset_sha256,
            metrics={
                "errors": record["errors"],
                "seed": record["seed"],
                "log": record["log"],
                "parity": record.get("parity"),
                "parent": parent,
                "e0s_eV": e0s_eV,
                "level_sha256": level_sha256,
                # what mace really ran with and what made this member differ from the others
                "training_run": record.get("training_run"),
                "mace_arguments": record.get("mace_arguments"),
                "diversity": record.get("diversity"),
                "excluded_labels": record.get("excluded_labels", []),
            },
            file_path=record["file"],
            file_sha256=record["sha256"],
        )
        self.session.add(version)
        self.session.flush()
        return version

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
        return [
            self.record_member(
                campaign_id,
                iteration_index,
                index,
                strategy=manifest["strategy"],
                record=member,
                dataset_sha256=manifest["dataset"]["sha256"],
                parent=manifest["parent"],
                e0s_eV=manifest["e0s_eV"],
                level_sha256=manifest["dataset"]["level_sha256"],
                parent_id=parent_id,
            )
            for index, member in enumerate(manifest["members"])
        ]

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

    def latest_committee(self, campaign_id: int, before_iteration: int) -> list[ModelVersion]:
        """The members of the campaign's last trained committee before an iteration."""
        last = self.session.scalar(
            select(ModelVersion.iteration_index)
            .where(
                ModelVersion.campaign_id == campaign_id,
                ModelVersion.iteration_index < before_iteration,
                ModelVersion.status == RunStatus.DONE,
            )
            .order_by(ModelVersion.iteration_index.desc())
            .limit(1)
        )
        return [] if last is None else self.committee(campaign_id, last)

    def for_campaign(self, campaign_id: int) -> list[ModelVersion]:
        """Every member of every iteration of a campaign, by iteration then member."""
        return list(
            self.session.scalars(
                select(ModelVersion)
                .where(ModelVersion.campaign_id == campaign_id)
                .order_by(ModelVersion.iteration_index, ModelVersion.member_index)
            )
        )

    def get(self, campaign_id: int, version_id: int) -> ModelVersion:
        """One model version of a campaign; :class:`NotFoundError` when there is none."""
        version = self.session.scalars(
            select(ModelVersion).where(
                ModelVersion.id == version_id, ModelVersion.campaign_id == campaign_id
            )
        ).one_or_none()
        if version is None:
            raise NotFoundError(f"campaign {campaign_id} has no model version {version_id}")
        return version
