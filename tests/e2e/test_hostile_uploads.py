"""Hostile dataset uploads against the real API process, on both backends: each is a short
4xx while ``/health`` keeps answering, and nothing is stored or left behind.

The file cases never reach the database, so PostgreSQL runs the metadata cases (once 500s
there) and one file case; SQLite runs them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.support.api_fixtures import table_digest
from tests.support.cli import api_process
from tests.support.hostile_uploads import CASES, GOOD, LABELLED, H, metadata, send, upload
from wise_al.db.engine import transaction
from wise_al.db.repositories import TokenRepository

pytestmark = pytest.mark.processes

ON_POSTGRESQL = {"thin-cell", "200kB-key", "confirmation-nan", "confirmation-1e400",
                 "900-levels", "lone-surrogate", "300kB-metadata"}  # fmt: skip


@dataclass
class Server:
    base: str
    token: str
    work: Path
    sessions: sessionmaker[Session]

    def left_behind(self) -> list[str]:
        """Files under the artifact store and the server's temporary folder."""
        found = [*(self.work / "artifacts").rglob("*"), *(self.work / "tmp").rglob("*")]
        return sorted(str(p.relative_to(self.work)) for p in found if p.is_file())


@pytest.fixture
def server(
    database_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> Iterator[Server]:
    with transaction(session_factory) as session:
        _, token = TokenRepository(session).create("tester")
    (tmp_path / "tmp").mkdir()  # where the server spools request bodies
    with api_process(database_url, tmp_path, env={"TMPDIR": str(tmp_path / "tmp")}) as base:
        yield Server(base, token, tmp_path, session_factory)


def test_hostile_uploads_are_short_4xx_while_health_answers(
    server: Server, database_url: str
) -> None:
    before = table_digest(server.sessions)
    names = [n for n in CASES if database_url.startswith("sqlite") or n in ON_POSTGRESQL]
    for name in names:
        answer = send(server.base, server.token, name)
        assert answer.status == CASES[name].status, answer
        assert answer.body_bytes < 2000 and answer.message and "\n" not in answer.message
        # /health never waits on the upload: it answers in milliseconds throughout (the
        # largest single wait allows for a CPU shared with the rest of the suite)
        assert answer.health_median_ms < 100 and answer.health_max_ms < 2000, answer
    assert table_digest(server.sessions) == before
    assert server.left_behind() == []


def test_twenty_parallel_refused_uploads_leave_nothing(server: Server) -> None:
    with httpx.Client(base_url=server.base) as client:
        first = upload(client, server.token, GOOD.encode(), json.dumps(metadata("taken")))
        assert first.status_code == 201, first.text
    stored = server.left_behind()
    before = table_digest(server.sessions)
    other = GOOD.replace("H 1 0 0", "H 2 0 0").encode()  # the taken name, other content
    thin = f'1\nLattice="10 0 0 0 10 0 0 0 1e-9" {LABELLED}\n{H}\n'.encode()
    requests = [(other, metadata("taken")), (thin, metadata("thin"))] * 10

    def send_one(request: tuple[bytes, dict[str, object]]) -> int:
        with httpx.Client(base_url=server.base) as client:
            return upload(client, server.token, request[0], json.dumps(request[1])).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send_one, requests))
    assert statuses == [409, 422] * 10
    assert table_digest(server.sessions) == before
    assert server.left_behind() == stored and len(stored) == 1
