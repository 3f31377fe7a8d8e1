"""The fault matrix's rows that no other test covers, on real processes (see tests/support/
faults.py): a PostgreSQL restart mid-label, a CP2K that hangs, a corrupted foundation model.

The rest of the matrix (every process kind SIGKILLed, Redis restarted, a full disk) runs in
``benchmarks/faults.py``; worker kills and a Redis restart also run in the compose test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.faults import ROWS, run_row

pytestmark = needs_cp2k

IN_SUITE = ["PostgreSQL restart mid-label", "CP2K hangs", "corrupted foundation model"]


@pytest.mark.parametrize("name", IN_SUITE)
def test_a_fault_loses_nothing_and_the_campaign_ends_as_it_says(
    name: str, demo_home: Path, tmp_path: Path
) -> None:
    row = next(r for r in ROWS if r.name == name)
    result = run_row(row, demo_home, tmp_path)
    assert result["status"] == row.expect, result
    assert row.reason.lower() in result["reason"].lower(), result
    assert result["duplicated"] == 0 and result["left_running"] == 0, result
    assert not result["bad_models"] and not result["orphans"], result
    if row.expect == "completed":
        assert result["lost"] == 0 and result["labels"] == result["selected"] > 0, result
