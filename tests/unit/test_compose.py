"""docker-compose.yml: valid for Compose (validated offline by docker-compose v1), complete."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"


def _config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "-f", str(path), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_the_compose_file_validates(tmp_path: Path) -> None:
    assert _config(COMPOSE).returncode == 0, _config(COMPOSE).stderr
    # the validator is not a rubber stamp: a misspelt key fails
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("healthcheck:", "healthchek:", 1))
    assert _config(broken).returncode != 0


def test_every_queue_has_a_worker_and_the_gpu_worker_reserves_a_gpu() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgres", "redis", "api", "worker-gpu", "worker-dft", "flower"} <= set(services)
    queues = {
        name: service["command"][service["command"].index("-Q") + 1]
        for name, service in services.items()
        if name.startswith("worker-")
    }
    assert set(queues.values()) == {"gpu", "dft", "default"}
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    for name in ("postgres", "redis", "api"):
        assert "healthcheck" in services[name], name
    for dockerfile in ("services/api/Dockerfile", "services/worker/Dockerfile"):
        assert (REPO / dockerfile).is_file()
