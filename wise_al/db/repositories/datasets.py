"""Queries on uploaded datasets, and the spec fields that name them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from wise_al.campaign_spec import CampaignSpec
from wise_al.campaign_spec.labelling import LabellingSpec
from wise_al.db.models import Dataset
from wise_al.db.repositories.base import Page, Repository
from wise_al.errors import ConflictError, SpecError


def _spec_error(field: str, message: str) -> SpecError:
    return SpecError(f"{field}: {message}", [{"loc": field.split("."), "msg": message}])


class DatasetRepository(Repository[Dataset]):
    """Uploaded datasets: by name, by content, one page at a time."""

    model = Dataset
    noun = "dataset"

    def find(self, name: str) -> Dataset | None:
        return self.session.scalars(select(Dataset).where(Dataset.name == name)).one_or_none()

    def add(self, **fields: Any) -> tuple[Dataset, bool]:
        """Store a checked upload; returns the row and whether it is new.

        The same name with the same content and level is the same upload (a retried
        request): the stored row is returned. The same name with other content is refused,
        also when a concurrent upload takes the name first (its insert runs in a savepoint).
        """
        found = self.find(fields["name"])
        if found is None:
            row = Dataset(**fields)
            try:
                with self.session.begin_nested():
                    self.session.add(row)
                return row, True
            except IntegrityError:
                found = self.find(fields["name"])
                assert found is not None, "the dataset row that won the race is visible"
        if (found.sha256, found.level_sha256) == (fields["sha256"], fields["level_sha256"]):
            return found, False
        raise ConflictError(
            f"name: a dataset named {fields['name']!r} exists with other content or level "
            f"(sha256 {found.sha256[:12]}); upload under another name"
        )

    def page(self, limit: int, offset: int) -> Page[Dataset]:
        return self.paginate(select(Dataset).order_by(Dataset.id.desc()), limit, offset)

    def named_in(self, spec: CampaignSpec) -> dict[str, Dataset]:
        """The datasets a spec names, by field, after checking each fits where it is used.

        Raises
        ------
        SpecError
            Naming the field: an unknown dataset, the wrong kind, elements the system does
            not have, or labels at another level of theory than the campaign's.
        """
        found: dict[str, Dataset] = {}
        wanted = {
            "model.initial_dataset": (spec.model.initial_dataset, "labelled"),
            "exploration.start_structures": (spec.exploration.start_structures, "structures"),
        }
        elements = spec.system.elements()
        for field, (name, kind) in wanted.items():
            if name is None:
                continue
            row = self.find(name)
            if row is None:
                raise _spec_error(field, f"no dataset named {name!r} (upload it first)")
            if kind == "labelled" and row.kind != "labelled":
                raise _spec_error(field, f"dataset {name!r} holds structures, not labels")
            extra = sorted(set(row.summary.get("elements", [])) - elements)
            if extra:
                raise _spec_error(
                    field, f"dataset {name!r} has {', '.join(extra)}, which the system has not"
                )
            if kind == "labelled":
                if row.labelling is None:
                    raise _spec_error(
                        field,
                        f"dataset {name!r} was declared with a level record, not a CP2K "
                        "labelling section: its labels cannot share a training set with "
                        "this campaign's CP2K labels",
                    )
                if not LabellingSpec.model_validate(row.labelling).same_level(spec.labelling):
                    raise _spec_error(
                        field,
                        f"dataset {name!r} is labelled at another level of theory than "
                        "labelling (one training set takes one level)",
                    )
            found[field] = row
        return found
