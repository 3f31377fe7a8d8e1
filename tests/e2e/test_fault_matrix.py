"""The fault matrix's rows that no other test covers (see tests/support/faults.py).

A PostgreSQL restart mid-label runs on real processes (a private server restarted under a
deployment); a CP2K that hangs and a corrupted foundation model are a unit's own failure,
so their campaigns are drained in this process, on PostgreSQL, and judged the same way.

The rest of the matrix (every process kind SIGKILLed, Redis restarted, a full disk) runs in
``benchmarks/faults.py``; worker kills and a Redis restart also run in the compose test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.databases import PostgresDatabases
from tests.support.faults import ROWS, drain_row, run_row
from wise_al.db import migrate

pytestmark = [needs_cp2k, pytest.mark.slow]

ON_PROCESSES = ["PostgreSQL restart mid-label"]
DRAINED = ["CP2K hangs", "corrupted foundation model"]


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.processes) for n in ON_PROCESSES]
    + [pytest.param(n) for n in DRAINED],
)
def test_a_fault_loses_nothing_and_the_campaign_ends_as_it_says(
    name: str, demo_home: Path, tmp_path: Path, postgres: PostgresDatabases
) -> None:
    row = next(r for r in ROWS if r.name == name)
    if name in ON_PROCESSES:
        result = run_row(row, demo_home, tmp_path)
    else:
        url = postgres.create()
        migrate.upgrade(url)
        result = drain_row(row, demo_home, tmp_path, url)
    assert result["status"] == row.expect, result
    assert row.reason.lower() in result["reason"].lower(), result
    assert result["duplicated"] == 0 and result["left_running"] == 0, result
    assert not result["bad_models"] and not result["orphans"], result
    if row.expect == "completed":
        assert result["lost"] == 0 and result["labels"] == result["selected"] > 0, result
