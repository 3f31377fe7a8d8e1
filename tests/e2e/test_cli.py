"""The `wise-al` command against a real `wise-al serve` process, as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ase.io import read

from tests.support.cli import WISE_AL, Cli, free_port, wait_until_up
from tests.support.cp2k_fixtures import needs_cp2k
from tests.support.databases import PostgresDatabases
from tests.support.factories import EXAMPLES, example_spec, with_value
from tests.support.loop_fixtures import small_campaign
from wise_al.cli.demo import DEMO_REFERENCE
from wise_al.db.engine import create_db_engine, create_session_factory
from wise_al.db.repositories import CampaignRepository, TokenRepository


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Cli, Path]]:
    """A migrated database, a token, and `wise-al serve` running on a free port."""
    env = {**os.environ, "WISE_AL_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("WISE_AL_TOKEN", None)
    if request.param == "postgresql":
        postgres: PostgresDatabases = request.getfixturevalue("postgres")
        env["WISE_AL_DATABASE_URL"] = postgres.create()
    port = free_port()
    env["WISE_AL_API_URL"] = f"http://127.0.0.1:{port}"
    cli = Cli(env)
    cli.run("db", "upgrade")
    cli.env["WISE_AL_TOKEN"] = str(cli.json("token", "create", "--name", "e2e")["token"])
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*WISE_AL, "serve", "--port", str(port), "--log-level", "debug"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(env["WISE_AL_API_URL"], server)
            yield cli, log
        finally:
            server.terminate()
            server.wait(timeout=15)


def test_submit_list_show_delete(cli: tuple[Cli, Path]) -> None:
    run, log = cli
    created = run.json("submit", str(EXAMPLES / "demo.yaml"))
    campaign_id = str(created["id"])
    listed = run.json("campaigns")
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    human = run.run("campaigns").stdout
    assert "demo-litfsi-water" in human and "draft" in human and "2 LiTFSI + 5 H2O" in human
    shown = run.run("show", campaign_id).stdout
    assert "fine_tune_naive, committee of 2" in shown
    spec = run.json("show", campaign_id, "--spec")
    assert spec["labelling"]["method"] == "xtb"
    assert "deleted campaign" in run.run("delete", campaign_id).stdout
    assert "does not exist" in run.fails("show", campaign_id)
    # the server saw the token in every mutating request and logged none of it
    assert run.env["WISE_AL_TOKEN"] not in log.read_text()
    assert "POST /api/v1/campaigns" in log.read_text()


def test_start_pause_resume_cancel(cli: tuple[Cli, Path]) -> None:
    """The controls change the stored status; what does not apply is refused in one line.

    No worker runs here: queued work waits in the embedded broker (tests/e2e/
    test_campaign_service.py runs campaigns through real workers).
    """
    run, _ = cli
    campaign_id = str(run.json("submit", str(EXAMPLES / "demo.yaml"))["id"])
    missing = run.fails("start", campaign_id)
    assert "model.foundation" in missing and "demo-foundation.model" in missing
    assert run.json("show", campaign_id)["status"] == "draft"  # the refusal changed nothing
    home = Path(run.env["WISE_AL_HOME"])
    (home / "models").mkdir(parents=True)
    (home / "models" / "demo-foundation.model").write_bytes(b"stand-in: no worker loads it")
    missing = run.fails("start", campaign_id)  # the spec's external test set is not there
    assert "model.training.external_test_set" in missing and "reference-md" in missing
    (home / "data").mkdir()
    (home / "data" / "demo-reference.extxyz").write_text("stand-in: nothing reads it")
    assert "running" in run.run("start", campaign_id).stdout
    assert "cannot start" in run.fails("start", campaign_id)
    assert run.json("pause", campaign_id)["status"] == "paused"
    assert run.json("resume", campaign_id)["status"] == "running"
    iterations = run.json("iterations", campaign_id)
    assert [(i["index"], i["phase"]) for i in iterations] == [(0, "explore")]
    assert run.json("cancel", campaign_id)["status"] == "cancelled"
    assert "cannot resume" in run.fails("resume", campaign_id)
    assert "only drafts can be deleted" in run.fails("delete", campaign_id)


def test_errors_are_one_line_and_nonzero(cli: tuple[Cli, Path], tmp_path: Path) -> None:
    run, _ = cli
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps(with_value(example_spec(), "system.temperature_K", -5)))
    assert "system.temperature_K" in run.fails("submit", str(bad))
    assert "cannot read" in run.fails("submit", str(tmp_path / "missing.yaml"))
    no_token = Cli({**run.env, "WISE_AL_TOKEN": "wal_not-a-token"})
    assert "HTTP 401" in no_token.fails("submit", str(EXAMPLES / "demo.yaml"))
    nowhere = Cli({**run.env, "WISE_AL_API_URL": f"http://127.0.0.1:{free_port()}"})
    assert "cannot reach the wise-al API" in nowhere.fails("campaigns")
    assert "No such option" in run.fails("submit", "--bogus", code=2)
    assert "campaign_id" in run.fails("show", "not-a-number", code=2)
    assert run.json("campaigns")["total"] == 0


def test_tokens_can_be_listed_and_revoked(cli: tuple[Cli, Path]) -> None:
    run, _ = cli
    tokens = run.json("token", "list")
    assert [t["name"] for t in tokens] == ["e2e"]
    assert run.env["WISE_AL_TOKEN"] not in json.dumps(tokens)
    run.run("token", "revoke", str(tokens[0]["id"]))
    assert "HTTP 401" in run.fails("submit", str(EXAMPLES / "demo.yaml"))


def test_spec_tools_work_offline(tmp_path: Path) -> None:
    run = Cli({**os.environ, "WISE_AL_HOME": str(tmp_path)})
    schema = json.loads(run.run("spec", "schema").stdout)
    assert schema["title"] == "CampaignSpec"
    assert "47 atoms" in run.run("spec", "validate", str(EXAMPLES / "demo.yaml")).stdout
    filled = run.json("spec", "validate", str(EXAMPLES / "wise_21m_gpu.yaml"))
    assert filled["labelling"]["dispersion"] == "none"


@pytest.mark.slow
@pytest.mark.processes
@needs_cp2k
def test_demo_runs_a_campaign_to_its_last_iteration(tmp_path: Path, demo_home: Path) -> None:
    """`wise-al demo` in embedded mode (SQLite database and broker, a real Celery worker),
    on a one-iteration cut of the example campaign; the foundation is already built."""
    home = tmp_path / "demo"
    shutil.copytree(demo_home / "models", home / "models")
    spec = tmp_path / "demo.yaml"
    # scored on the demo's reference MD, which the demo builds first (one temperature here)
    cut = {
        "stopping.max_iterations": 1,
        "model.training.external_test_set": DEMO_REFERENCE,
        # the reference's relaxation and MD run under the labels' time limit: room for a
        # machine busy with other tests (120 s timed it out beside two other workers)
        "labelling.time_limit_s": 600,
    }
    spec.write_text(yaml.safe_dump(small_campaign(**cut)))
    env = {**os.environ, "WISE_AL_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"}
    for key in ("WISE_AL_DATABASE_URL", "WISE_AL_BROKER_URL", "WISE_AL_ARTIFACT_DIR"):
        env.pop(key, None)
    port = free_port()
    result = subprocess.run(
        [*WISE_AL, "demo", "--spec", str(spec), "--port", str(port), "--exit-when-done"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    logs = "".join(p.read_text()[-2000:] for p in sorted((home / "logs").glob("*.log")))
    assert result.returncode == 0, result.stderr + logs
    assert "completed: reached max_iterations (1)" in result.stdout, result.stdout + logs
    assert "no committee yet" in result.stdout  # the per-iteration table
    assert "no reference MD of the demo cell yet" in result.stdout
    reference = read(home / DEMO_REFERENCE, index=":")
    assert isinstance(reference, list) and len(reference) == 6  # 30 steps, a frame every 5
    assert "external" in result.stdout  # a force RMSE column on those frames, every iteration
    engine = create_db_engine(f"sqlite:///{home / 'wise_al.db'}")
    with create_session_factory(engine)() as session:
        page = CampaignRepository(session).list()
        tokens = TokenRepository(session).list()
    engine.dispose()
    assert [(c.name, str(c.status)) for c in page.items] == [("loop-test", "completed")]
    assert [(t.name, t.revoked_at is not None) for t in tokens] == [("demo", True)]
    with socket.socket() as probe:  # and the server it started is gone
        assert probe.connect_ex(("127.0.0.1", port)) != 0
