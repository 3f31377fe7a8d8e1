"""``docker compose up``, for real: the images built and the stack run on a real Docker engine.

The user's docker-compose.yml, with one override that swaps in local stand-ins of the base
images (no image registry is reachable here: ``scripts/local-docker.sh bases``). The images
are built in the background from the start of the test run (tests/support/compose_build.py).
One small xTB campaign goes through the published port, and while it runs the dft worker is
killed mid-label, the gpu worker mid-train, and Redis restarted; the tests then ask of that
one campaign: it completed, nothing was lost or duplicated, its frames, labels, models,
dataset and pages are served, and the stack taken down and up again keeps all of it.
The workers are killed by SIGKILL of their main process from the host (a crash); their
restart policy brings them back.

The gpu queue's worker runs on this CPU (no GPU here; the CUDA overlay is not exercised).
Timings go to ``tests/artifacts/compose-timings.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import compose_build
from tests.support.cli import free_port
from tests.support.compose_build import FILES, PROJECT, REPO
from tests.support.loop_fixtures import small_campaign
from wise_al.client import WiseAlClient

# the module's fixture waits for the image build: cold (a changed pyproject.toml re-installs
# torch and mace) that alone takes longer than one test's usual limit
pytestmark = [
    pytest.mark.timeout(3600),
    pytest.mark.compose,
    pytest.mark.processes,
    pytest.mark.xdist_group("docker"),
]

SERVICES = ("postgres", "redis", "api", "worker-gpu", "worker-dft", "worker-default")
TIMINGS = REPO / "tests" / "artifacts" / "compose-timings.json"
FINISHED = ("completed", "failed", "cancelled")


@dataclass
class Stack:
    env: dict[str, str]
    url: str = ""
    token: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def compose(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            ["docker-compose", "-p", PROJECT, *FILES, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def docker(self, *args: str) -> str:
        return subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, check=True
        ).stdout.strip()

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip()

    def health(self, service: str) -> str:
        state = json.loads(
            self.docker("inspect", "--format", "{{json .State}}", self.container(service))
        )
        return str(state.get("Health", {}).get("Status", state["Status"]))

    def wait_healthy(self, timeout_s: float = 600) -> float:
        start = time.monotonic()
        pending = set(SERVICES)
        while pending and time.monotonic() - start < timeout_s:
            pending = {s for s in pending if self.health(s) != "healthy"}
            time.sleep(2)
        if pending:
            logs = self.compose("logs", "--tail", "40", *sorted(pending))
            raise AssertionError(f"not healthy after {timeout_s} s: {sorted(pending)}\n{logs}")
        return time.monotonic() - start

    def logs(self) -> str:
        return self.compose("logs", "--tail", "60")


def _wait(
    what: str, check: Callable[[], Any], stack: Stack, timeout_s: float = 1200, poll_s: float = 2
) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None  # the API restarting: ask again
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out waiting for {what}\n{stack.logs()}")


@pytest.fixture(scope="module")
def stack(demo_home: Path, shared: Path) -> Iterator[Stack]:
    if os.geteuid() != 0:
        pytest.skip("the local Docker engine needs root (dockerd)")
    built = compose_build.wait(shared / "compose-build")
    env = {
        **os.environ,
        "DOCKER_HOST": built["docker_host"],
        "WISE_AL_PORT": str(free_port()),
        # a killed worker's message comes back within the test; longer than any unit here
        "WISE_AL_VISIBILITY_TIMEOUT_S": "90",
        "WISE_AL_CP2K_MPI_RANKS": "1",
    }
    stack = Stack(env, url=f"http://127.0.0.1:{env['WISE_AL_PORT']}", timings=built["timings"])
    try:
        started = time.monotonic()
        stack.compose("up", "-d")
        stack.timings["up_to_healthy_s"] = stack.wait_healthy()
        stack.timings["up_total_s"] = time.monotonic() - started
        token = stack.compose(
            "exec", "-T", "api", "wise-al", "token", "create", "--name", "smoke", "--json"
        )
        stack.token = json.loads(token)["token"]
        # the demo foundation goes where specs name it: models/ in the shared volume
        stack.compose("exec", "-T", "api", "mkdir", "-p", "/data/models")
        model = demo_home / "models" / "demo-foundation.model"
        stack.docker("cp", str(model), f"{stack.container('api')}:/data/models/{model.name}")
        yield stack
    finally:
        TIMINGS.parent.mkdir(parents=True, exist_ok=True)
        TIMINGS.write_text(json.dumps(stack.timings, indent=1))
        subprocess.run(
            ["docker-compose", "-p", PROJECT, *FILES, "down", "-v", "--remove-orphans"],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )


def _finished(client: WiseAlClient, campaign_id: int) -> dict[str, Any] | None:
    campaign = client.get_campaign(campaign_id)
    return campaign if campaign["status"] in FINISHED else None


def _labels(stack: Stack, campaign_id: int) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{stack.url}/api/v1/campaigns/{campaign_id}/labels",
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=30,
    )
    response.raise_for_status()
    return list(response.json())


def _consistent(stack: Stack, client: WiseAlClient, campaign_id: int) -> dict[str, int]:
    """One label per selected frame, none twice; every unit done; their attempts."""
    selected = client.frames(campaign_id, status="selected", limit=500)["items"]
    labels = _labels(stack, campaign_id)
    assert sorted(x["frame_id"] for x in labels) == sorted(f["id"] for f in selected)
    assert all(x["status"] == "done" for x in labels)
    runs = client.task_runs(campaign_id)["items"]
    assert all(r["status"] == "done" for r in runs), [(r["unit_key"], r["error"]) for r in runs]
    return {
        "selected": len(selected),
        "runs": len(runs),
        "attempts": sum(r["attempts"] for r in runs),
    }


@dataclass
class Run:
    """The one campaign of the module, run with its faults, and what it left."""

    campaign: dict[str, Any]
    done: dict[str, Any]
    counts: dict[str, int]
    models: list[dict[str, Any]]


def _running(client: WiseAlClient, campaign_id: int, unit: str) -> bool:
    running = client.task_runs(campaign_id, status="running")["items"]
    return any(f"/{unit}/" in r["unit_key"] for r in running)


def _crash(stack: Stack, service: str) -> None:
    """SIGKILL the service's main process from the host, as a crash or the OOM killer would.

    (``docker kill`` counts as a manual stop, after which restart policies do not apply.)
    """
    pid = int(stack.docker("inspect", "--format", "{{.State.Pid}}", stack.container(service)))
    os.kill(pid, signal.SIGKILL)


def _restarts(stack: Stack, service: str) -> int:
    return int(stack.docker("inspect", "--format", "{{.RestartCount}}", stack.container(service)))


def _crash_and_wait(stack: Stack, client: WiseAlClient, cid: int, unit: str, service: str) -> None:
    _wait(f"a {unit} to run", lambda: _running(client, cid, unit), stack, 600, 0.2)
    before = _restarts(stack, service)
    _crash(stack, service)
    _wait(f"{service} to restart", lambda: _restarts(stack, service) > before, stack)


@pytest.fixture(scope="module")
def run(stack: Stack) -> Run:
    """A campaign through the published port; a worker killed mid-label, one mid-train, and
    Redis restarted while it runs."""
    with WiseAlClient(stack.url, stack.token) as client:
        campaign = client.create_campaign(small_campaign())
        started = time.monotonic()
        cid = campaign["id"]
        client.control_campaign(cid, "start")
        _crash_and_wait(stack, client, cid, "label", "worker-dft")
        _crash_and_wait(stack, client, cid, "train", "worker-gpu")
        stack.compose("restart", "redis")  # queued units live in its append-only file
        done = _wait("the campaign to finish", lambda: _finished(client, cid), stack)
        stack.timings["campaign_s"] = time.monotonic() - started
        counts = _consistent(stack, client, cid) if done["status"] == "completed" else {}
        stack.timings["attempts_over_runs"] = counts.get("attempts", 0) - counts.get("runs", 0)
        return Run(campaign, done, counts, client.models(cid))


def test_the_postgres_log_keeps_no_failed_statement(stack: Stack) -> None:
    # the server log never holds a failed statement, nor the values its DETAIL quotes
    for setting, value in [("log_min_error_statement", "panic"), ("log_error_verbosity", "terse")]:
        shown = stack.compose(
            "exec", "-T", "postgres", "psql", "-U", "wise", "-d", "wise", "-Atc", f"SHOW {setting}"
        )
        assert shown.strip() == value, setting


def test_a_campaign_through_the_published_port_completes_despite_crashes(run: Run) -> None:
    assert run.done["status"] == "completed", run.done["status_reason"]
    assert "max_iterations (2)" in run.done["status_reason"]


def test_killed_workers_and_a_restarted_redis_lose_and_duplicate_nothing(run: Run) -> None:
    # one label per selected frame, none twice, every unit done (``_consistent``, which
    # judges a completed campaign only)
    assert run.counts, f"not judged: the campaign is {run.done['status']}"
    assert run.counts["selected"] == 6, run.counts
    # the killed label and the killed member ran once more each, nothing else did
    assert run.counts["runs"] < run.counts["attempts"] <= run.counts["runs"] + 2, run.counts


def test_the_dataset_models_and_pages_are_served(stack: Stack, run: Run) -> None:
    cid = run.campaign["id"]
    with WiseAlClient(stack.url, stack.token) as client:
        assert client.dataset(cid).count("REF_energy=") == 6
        assert [(m["iteration_index"], m["member_index"]) for m in run.models] == [
            (0, 0), (0, 1), (1, 0), (1, 1)
        ]  # fmt: skip
        download = client.download_model(cid, run.models[-1]["id"])
        assert hashlib.sha256(download).hexdigest() == run.models[-1]["file_sha256"]
    for page in ("/", f"/campaigns/{cid}"):
        response = httpx.get(stack.url + page, timeout=30)
        assert response.status_code == 200 and run.campaign["name"] in response.text, page


def test_down_and_up_keep_the_database_and_the_artifacts(stack: Stack, run: Run) -> None:
    # the named volumes keep the database and the artifacts
    stack.compose("down")
    stack.compose("up", "-d")
    stack.wait_healthy()
    with WiseAlClient(stack.url, stack.token) as client:
        again = client.get_campaign(run.campaign["id"])
        assert (again["status"], again["status_reason"]) == (
            run.done["status"],
            run.done["status_reason"],
        )
        kept = client.download_model(run.campaign["id"], run.models[-1]["id"])
        assert hashlib.sha256(kept).hexdigest() == run.models[-1]["file_sha256"]
