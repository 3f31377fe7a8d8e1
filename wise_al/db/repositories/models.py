"""Queries on model versions: the members of each iteration's committee."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from wise_al.db.models import ModelVersion, RunStatus
from wise_al.db.repositories.base import Repository
from wise_al.errors import NotFoundError


class ModelVersionRepository(Repository[ModelVersion]):
    """Committee members, one row per member and iteration."""

    model = ModelVersion
    noun = "model version"

    def _member(self, campaign_id: int, iteration_index: int, member_index: int) -> Any:
        return self.session.scalars(
            select(ModelVersion).where(
                ModelVersion.campaign_id == campaign_id,
                ModelVersion.iteration_index == iteration_index,
                ModelVersion.member_index == member_index,
            )
        ).one_or_none()

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
        """Store one trained member (a fit's ``member_record``); repeating it changes nothing.

        A member recorded as failed by an earlier attempt is replaced by the trained one.
        """
        version = self._member(campaign_id, iteration_index, member_index)
        if version is not None and version.status == RunStatus.DONE:
            return version
        if version is not None:
            self.session.delete(version)
            self.session.flush()
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

    def record_failure(
        self, campaign_id: int, iteration_index: int, member_index: int, strategy: str, error: str
    ) -> ModelVersion:
        """Record that a member failed to train; a member trained already stays as it is."""
        version = self._member(campaign_id, iteration_index, member_index)
        if version is None:
            version = ModelVersion(
                campaign_id=campaign_id,
                iteration_index=iteration_index,
                member_index=member_index,
                strategy=strategy,
            )
            self.session.add(version)
        if version.status != RunStatus.DONE:
            version.status, version.error = RunStatus.FAILED, error
        self.session.flush()
        return version

    def is_trained(self, campaign_id: int, iteration_index: int, member_index: int) -> bool:
        """Whether this member of this iteration was trained."""
        version = self._member(campaign_id, iteration_index, member_index)
        return version is not None and version.status == RunStatus.DONE

    def count(self, campaign_id: int, status: RunStatus, iteration_index: int) -> int:
        """Members of one iteration with this status."""
        return int(
            self.session.scalar(
                select(func.count()).where(
                    ModelVersion.campaign_id == campaign_id,
                    ModelVersion.status == status,
                    ModelVersion.iteration_index == iteration_index,
                )
            )
            or 0
        )

    def trained_before(self, campaign_id: int, iteration_index: int) -> bool:
        """Whether any member was trained by an iteration before this one."""
        return (
            self.session.scalar(
                select(ModelVersion.id)
                .where(
                    ModelVersion.campaign_id == campaign_id,
                    ModelVersion.status == RunStatus.DONE,
                    ModelVersion.iteration_index < iteration_index,
                )
                .limit(1)
            )
            is not None
        )

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
        """The trained members of the campaign's last committee before an iteration."""
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
        if last is None:
            return []
        return [m for m in self.committee(campaign_id, last) if m.status == RunStatus.DONE]

    def for_campaign(self, campaign_id: int) -> list[ModelVersion]:
        """Every member of every iteration of a campaign, by iteration then member."""
        return list(
            self.session.scalars(
                select(ModelVersion)
                .where(ModelVersion.campaign_id == campaign_id)
                .order_by(ModelVersion.iteration_index, ModelVersion.member_index)
            )
        )

    def in_campaign(self, campaign_id: int, version_id: int) -> ModelVersion:
        """One model version of a campaign; :class:`NotFoundError` when there is none."""
        version = self.session.scalars(
            select(ModelVersion).where(
                ModelVersion.id == version_id, ModelVersion.campaign_id == campaign_id
            )
        ).one_or_none()
        if version is None:
            raise NotFoundError(f"campaign {campaign_id} has no model version {version_id}")
        return version
