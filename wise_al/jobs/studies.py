"""Studies: create a study's campaigns, and compare its variants side by side.

The comparison reads what each campaign's units recorded (iteration metrics, labels,
validations, leases): the latest evaluated committee's errors, on the external test set
when the study has one (the same frames for every variant) or else on its own test split;
its latest calibration; its latest validation against experiment; and what it cost.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from wise_al.campaign_spec.study import StudySpec, expand_study
from wise_al.db.models import LabelProvenance, RunStatus, Study
from wise_al.db.repositories import (
    CampaignRepository,
    DatasetRepository,
    IterationRepository,
    StudyRepository,
    ValidationRepository,
)
from wise_al.jobs.outcomes import CALIBRATION_KEY, EVALUATION_KEY, verdict_of
from wise_al.jobs.registry import DECLARED
from wise_al.jobs.unit import Resource
from wise_al.observables.registry import METRICS
from wise_al.observables.scores import observable_values

#: Units that hold a GPU while they run: their wall time is the study's GPU cost.
GPU_UNITS = tuple(str(u) for u, d in DECLARED.items() if d.resource == Resource.GPU)


def create_study(session: Session, spec: StudySpec, created_by: str | None = None) -> Study:
    """Store a study and one draft campaign per variant and seed (all or nothing).

    Raises
    ------
    SpecError
        Naming the variant and field, when a variant's spec is invalid or names a dataset
        that does not fit.
    """
    specs = expand_study(spec)
    datasets = DatasetRepository(session)
    for spec_of_variant in specs.values():
        datasets.named_in(spec_of_variant)
    study = StudyRepository(session).create(spec.name, spec.model_dump(mode="json"), created_by)
    campaigns = CampaignRepository(session)
    for (variant, seed), campaign_spec in specs.items():
        campaign = campaigns.create(campaign_spec, created_by=created_by)
        campaign.study_id, campaign.study_variant, campaign.study_seed = study.id, variant, seed
    session.flush()
    return study


@dataclass
class VariantRow:
    """One campaign of a study, as the comparison table shows it (None: not measured)."""

    variant: str
    seed: int
    campaign_id: int
    status: str
    status_reason: str | None
    iterations: int
    labels_cp2k: int
    labels_imported: int
    error_split: str | None = None
    energy_rmse_meV_per_atom: float | None = None
    forces_rmse_meV_per_A: float | None = None
    stress_rmse_meV_per_A3: float | None = None
    calibration: str | None = None
    dispersion_ratio: float | None = None
    validated_iteration: int | None = None
    gpu_hours: float = 0.0
    dft_hours: float = 0.0
    #: the latest validation's errors, every metric of the observables registry (None: not
    #: measurable by that run, or no validation)
    metrics: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(METRICS))
    #: the learning curve: per evaluated iteration, CP2K labels so far and the errors
    curve: list[dict[str, Any]] = field(default_factory=list)

    def flat(self) -> dict[str, Any]:
        """The row as JSON: its metrics beside its other fields."""
        fields = asdict(self)
        return {**fields, **fields.pop("metrics")}


#: The comparison's columns, in the CSV's order (the curve is not a column).
COLUMNS = [
    *(name for name in VariantRow.__dataclass_fields__ if name not in ("curve", "metrics")),
    *METRICS,
]


def _errors(evaluation: dict[str, Any]) -> tuple[str | None, dict[str, float | None]]:
    for split in ("external", "test"):
        if f"{split}_forces_rmse_meV_per_A" in evaluation:
            keys = ("energy_rmse_meV_per_atom", "forces_rmse_meV_per_A", "stress_rmse_meV_per_A3")
            return split, {k: evaluation.get(f"{split}_{k}") for k in keys}
    return None, {}


def _variant_row(session: Session, campaign_id: int) -> VariantRow:
    studies = StudyRepository(session)
    campaign = CampaignRepository(session).get(campaign_id)
    iterations = IterationRepository(session).of_campaign(campaign_id)
    labels = studies.labels_by_iteration(campaign_id)
    row = VariantRow(
        variant=str(campaign.study_variant),
        seed=int(campaign.study_seed or 0),
        campaign_id=campaign_id,
        status=str(campaign.status),
        status_reason=campaign.status_reason,
        iterations=len(iterations),
        labels_cp2k=sum(c.get(LabelProvenance.CP2K, 0) for c in labels.values()),
        labels_imported=sum(c.get(LabelProvenance.IMPORTED, 0) for c in labels.values()),
        gpu_hours=studies.unit_seconds(campaign_id, GPU_UNITS) / 3600,
        dft_hours=studies.dft_seconds(campaign_id) / 3600,
    )
    cp2k_so_far = 0
    for iteration in iterations:
        cp2k_so_far += labels.get(iteration.index, {}).get(LabelProvenance.CP2K, 0)
        metrics = iteration.metrics or {}
        calibration = metrics.get(CALIBRATION_KEY) or {}
        if verdict_of(calibration) is not None:
            row.dispersion_ratio = calibration.get("dispersion_ratio")
            row.calibration = verdict_of(calibration)
        split, errors = _errors(metrics.get(EVALUATION_KEY) or {})
        if split is None:
            continue
        row.error_split = split
        row.energy_rmse_meV_per_atom = errors["energy_rmse_meV_per_atom"]
        row.forces_rmse_meV_per_A = errors["forces_rmse_meV_per_A"]
        row.stress_rmse_meV_per_A3 = errors["stress_rmse_meV_per_A3"]
        row.curve.append({"iteration": iteration.index, "labels_cp2k": cp2k_so_far, **errors})
    done = [
        v
        for v in ValidationRepository(session).of_campaign(campaign_id)
        if v.status == RunStatus.DONE
    ]
    if done:
        latest = done[-1]
        row.validated_iteration = latest.iteration_index
        row.metrics |= observable_values(latest.observables or {})  # NVT: no density error
    return row


def compare_study(session: Session, study_id: int) -> list[VariantRow]:
    """Every campaign of a study, side by side."""
    StudyRepository(session).get(study_id)
    return [_variant_row(session, c.id) for c in StudyRepository(session).campaigns(study_id)]


def comparison_csv(rows: list[VariantRow]) -> str:
    """The comparison as CSV (one row per campaign, :data:`COLUMNS`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.flat().items()})
    return buffer.getvalue()
