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


def test_every_queue_has_a_worker_and_the_gpu_overlay_reserves_a_gpu() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgres", "redis", "api", "worker-gpu", "worker-dft", "flower"} <= set(services)
    queues = {
        name: service["command"][service["command"].index("-Q") + 1]
        for name, service in services.items()
        if name.startswith("worker-")
    }
    assert set(queues.values()) == {"gpu", "dft", "default"}
    # plain `docker compose up` runs on any machine: the GPU is the overlay's business
    assert "deploy" not in services["worker-gpu"]
    gpu = yaml.safe_load((REPO / "docker-compose.gpu.yml").read_text())["services"]
    devices = gpu["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert "cu126" in gpu["worker-gpu"]["build"]["args"]["TORCH_INDEX"]
    assert services["flower"]["profiles"] == ["monitoring"]
    for name in ("postgres", "redis", "api"):
        assert "healthcheck" in services[name], name
    for dockerfile in ("services/api/Dockerfile", "services/worker/Dockerfile"):
        assert (REPO / dockerfile).is_file()


def test_the_local_bases_overlay_swaps_base_images_only() -> None:
    base = yaml.safe_load(COMPOSE.read_text())["services"]
    local = yaml.safe_load((REPO / "docker" / "compose.local-bases.yml").read_text())["services"]
    assert set(local) <= set(base)
    for name, service in local.items():
        if "build" in service:
            assert set(service) == {"build"}, name
            assert service["build"]["dockerfile"] == base[name]["build"]["dockerfile"]
            assert set(service["build"]["args"]) <= {"PYTHON_IMAGE", "NODE_IMAGE"}, name
        else:
            assert set(service) == {"image"} and service["image"].startswith("wise-al-local/")
    merged = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "-f", "docker/compose.local-bases.yml", "config"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    config = yaml.safe_load(merged.stdout)["services"]
    # everything but the base images is the user's file: commands, restarts, health checks
    for name in config:
        for key in ("command", "restart"):
            assert config[name].get(key) == base[name].get(key), (name, key)
        assert ("healthcheck" in config[name]) == ("healthcheck" in base[name]), name
