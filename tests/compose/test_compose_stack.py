"""``docker compose up``, for real: the images built and the stack run on a real Docker engine.

The user's docker-compose.yml, with one override that swaps in local stand-ins of the base
images (no image registry is reachable here: ``scripts/local-docker.sh bases``). Through the
published port: a token, a small xTB campaign run to completion, its frames, labels, models
and dataset, the dashboard; then workers killed mid-label and mid-train, Redis restarted
mid-campaign, and the stack taken down and up again, with nothing lost or duplicated.
The workers are killed by SIGKILL of their main process from the host (a crash); their
restart policy brings them back.

The gpu queue's worker runs on this CPU (no GPU here; the CUDA overlay is not exercised).
Timings go to ``tests/artifacts/compose-timings.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import free_port
from tests.support.loop_fixtures import small_campaign
from wise_al.client import WiseAlClient

# the module's fixture builds the images: cold (a changed pyproject.toml re-installs torch
# and mace) that alone takes longer than one test's usual limit
pytestmark = pytest.mark.timeout(3600)

REPO = Path(__file__).resolve().parents[2]
PROJECT = "wiseal-smoke"
FILES = ["-f", "docker-compose.yml", "-f", "docker/compose.local-bases.yml"]
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


def _prepare_context() -> None:
    """This machine's CA bundle (build stages only) and its CPU torch wheel, in the context."""
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", REPO / "docker" / "build-ca" / "ca.pem")
    for wheel in Path("/opt/wheels").glob("torch-2.13.0*.whl"):
        target = REPO / "docker" / "wheels" / wheel.name
        if not target.exists() or target.stat().st_size != wheel.stat().st_size:
            shutil.copyfile(wheel, target)


@pytest.fixture(scope="module")
def stack(demo_home: Path) -> Iterator[Stack]:
    if os.geteuid() != 0:
        pytest.skip("the local Docker engine needs root (dockerd)")
    script = str(REPO / "scripts" / "local-docker.sh")
    host = subprocess.run([script, "engine"], capture_output=True, text=True, check=True)
    env = {
        **os.environ,
        "DOCKER_HOST": host.stdout.strip(),
        "WISE_AL_PORT": str(free_port()),
        # a killed worker's message comes back within the test; longer than any unit here
        "WISE_AL_VISIBILITY_TIMEOUT_S": "90",
        "WISE_AL_CP2K_MPI_RANKS": "1",
    }
    stack = Stack(env, url=f"http://127.0.0.1:{env['WISE_AL_PORT']}")
    started = time.monotonic()
    subprocess.run([script, "bases"], env=env, check=True, capture_output=True, timeout=1200)
    stack.timings["base_images_s"] = time.monotonic() - started
    _prepare_context()
    try:
        started = time.monotonic()
        stack.compose("build", timeout=3600)
        stack.timings["build_s"] = time.monotonic() - started
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


def test_a_campaign_runs_through_the_published_port_and_survives_down_and_up(
    stack: Stack,
) -> None:
    # the server log never holds a failed statement, nor the values its DETAIL quotes
    for setting, value in [("log_min_error_statement", "panic"), ("log_error_verbosity", "terse")]:
        shown = stack.compose(
            "exec", "-T", "postgres", "psql", "-U", "wise", "-d", "wise", "-Atc", f"SHOW {setting}"
        )
        assert shown.strip() == value, setting
    with WiseAlClient(stack.url, stack.token) as client:
        campaign = client.create_campaign(small_campaign())
        started = time.monotonic()
        client.control_campaign(campaign["id"], "start")
        done = _wait("the campaign to finish", lambda: _finished(client, campaign["id"]), stack)
        stack.timings["campaign_s"] = time.monotonic() - started
        assert done["status"] == "completed", done["status_reason"]
        counts = _consistent(stack, client, campaign["id"])
        assert counts["selected"] == 6 and counts["attempts"] == counts["runs"]
        assert client.dataset(campaign["id"]).count("REF_energy=") == 6
        models = client.models(campaign["id"])
        assert len(models) == 4
        download = client.download_model(campaign["id"], models[-1]["id"])
        assert hashlib.sha256(download).hexdigest() == models[-1]["file_sha256"]
    for page in ("/", f"/campaigns/{campaign['id']}"):
        response = httpx.get(stack.url + page, timeout=30)
        assert response.status_code == 200 and campaign["name"] in response.text, page
    # down and up again: the named volumes keep the database and the artifacts
    stack.compose("down")
    stack.compose("up", "-d")
    stack.wait_healthy()
    with WiseAlClient(stack.url, stack.token) as client:
        again = client.get_campaign(campaign["id"])
        assert (again["status"], again["status_reason"]) == (done["status"], done["status_reason"])
        kept = client.download_model(campaign["id"], models[-1]["id"])
        assert hashlib.sha256(kept).hexdigest() == models[-1]["file_sha256"]


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


def test_killed_workers_and_a_restarted_redis_lose_and_duplicate_nothing(stack: Stack) -> None:
    with WiseAlClient(stack.url, stack.token) as client:
        # another temperature: other frames, so no label comes from the first campaign's cache
        faults = {"name": "faults", "system.walkers": [{"temperature_K": 350.0}]}
        campaign = client.create_campaign(small_campaign(**faults))
        client.control_campaign(campaign["id"], "start")
        cid = campaign["id"]
        _wait("a label to run", lambda: _running(client, cid, "label"), stack, 600, 0.2)
        before = _restarts(stack, "worker-dft")
        _crash(stack, "worker-dft")
        _wait("the dft worker to restart", lambda: _restarts(stack, "worker-dft") > before, stack)
        _wait("a member to train", lambda: _running(client, cid, "train"), stack, 600, 0.2)
        before = _restarts(stack, "worker-gpu")
        _crash(stack, "worker-gpu")
        _wait("the gpu worker to restart", lambda: _restarts(stack, "worker-gpu") > before, stack)
        stack.compose("restart", "redis")  # queued units live in its append-only file
        done = _wait("the campaign to finish", lambda: _finished(client, cid), stack)
        assert done["status"] == "completed", done["status_reason"]
        counts = _consistent(stack, client, cid)
        assert counts["selected"] == 6
        # the killed label and the killed member ran once more each, nothing else did
        assert counts["attempts"] <= counts["runs"] + 2, counts
        stack.timings["faults_campaign_attempts_over_runs"] = counts["attempts"] - counts["runs"]
