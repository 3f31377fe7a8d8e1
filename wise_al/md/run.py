"""A production run from model files: the committee, its driver, D3, and the record of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ase import Atoms

from wise_al.mace.calculator import CommitteeCalculator
from wise_al.mace.committee import Committee
from wise_al.mace.fit import file_sha256
from wise_al.md.dispersion import add_dispersion, describe_dispersion
from wise_al.md.parameters import ProductionParameters
from wise_al.md.production import ProductionResult, run_production


def run_with_models(
    start: Atoms,
    model_paths: Sequence[Path],
    parameters: ProductionParameters,
    directory: Path,
    *,
    device: str = "auto",
    dtype: str = "float64",
    on_progress: Callable[[int], None] | None = None,
) -> ProductionResult:
    """Run (or resume) production MD driven by one model or a committee of them.

    With several models, ``parameters.driver`` says who moves the atoms: ``member`` (the
    first model alone, the others judging saved frames only) or ``committee_mean``.
    """
    committee = Committee(model_paths, device=device, dtype=dtype, min_members=1)
    calculator = add_dispersion(
        CommitteeCalculator(committee, driver=parameters.driver),
        parameters.dispersion,
        parameters.dispersion_functional,
    )
    driven_by = {
        "model_sha256": [file_sha256(Path(p)) for p in model_paths],
        "driver": parameters.driver if len(committee) > 1 else "single model",
        "dispersion": describe_dispersion(parameters.dispersion, parameters.dispersion_functional),
        "dtype": dtype,
    }
    return run_production(
        start, calculator, parameters, directory, driven_by=driven_by, on_progress=on_progress
    )
