"""The compose images, built in the background from the first minute of a test run.

Building (a Docker engine, debootstrapped base images, the images themselves: minutes when
``pyproject.toml`` changed) needs no result of any test, so it overlaps the rest of the
suite: ``start`` launches ``python -m tests.support.compose_build FOLDER`` once per run, and
the compose tests ``wait`` for its record (``build.json``: exit code, ``DOCKER_HOST``,
timings; ``build.log`` holds what it printed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
PROJECT = "wiseal-smoke"
FILES = ["-f", "docker-compose.yml", "-f", "docker/compose.local-bases.yml"]
SCRIPT = REPO / "scripts" / "local-docker.sh"


def _prepare_context() -> None:
    """This machine's CA bundle (build stages only) and its CPU torch wheel, in the context."""
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", REPO / "docker" / "build-ca" / "ca.pem")
    for wheel in Path("/opt/wheels").glob("torch-2.13.0*.whl"):
        target = REPO / "docker" / "wheels" / wheel.name
        if not target.exists() or target.stat().st_size != wheel.stat().st_size:
            shutil.copyfile(wheel, target)


def build(folder: Path) -> dict[str, Any]:
    """Engine, base images, context, ``docker-compose build``; the record of how it went."""
    record: dict[str, Any] = {"rc": 1, "timings": {}}
    with (folder / "build.log").open("a") as log:

        def step(name: str, argv: list[str], env: dict[str, str]) -> str:
            started = time.monotonic()
            log.write(f"$ {' '.join(argv)}\n")
            log.flush()
            done = subprocess.run(
                argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log, text=True, timeout=3600
            )
            record["timings"][name] = round(time.monotonic() - started, 1)
            log.write(done.stdout)
            if done.returncode != 0:
                raise RuntimeError(f"{name} failed ({done.returncode}): see {log.name}")
            return done.stdout

        env = dict(os.environ)
        env["DOCKER_HOST"] = step("engine_s", [str(SCRIPT), "engine"], env).strip()
        record["docker_host"] = env["DOCKER_HOST"]
        step("base_images_s", [str(SCRIPT), "bases"], env)
        _prepare_context()
        step("build_s", ["docker-compose", "-p", PROJECT, *FILES, "build"], env)
        record["rc"] = 0
    return record


def start(folder: Path) -> None:
    """Start the build in the background unless this run has started it already."""
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "start.lock")):
        if (folder / "started").exists():
            return
        (folder / "started").write_text(str(time.time()))
        with (folder / "build.log").open("ab") as log:
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.compose_build", str(folder)],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


def wait(folder: Path, timeout_s: float = 3600) -> dict[str, Any]:
    """The build's record once it has ended; raises with its log if it failed."""
    start(folder)
    result = folder / "build.json"
    deadline = time.monotonic() + timeout_s
    while not result.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the compose build took over {timeout_s} s")
        time.sleep(2)
    record: dict[str, Any] = json.loads(result.read_text())
    if record["rc"] != 0:
        log = (folder / "build.log").read_text(errors="replace")[-4000:]
        raise AssertionError(f"the compose build failed: {record.get('error')}\n{log}")
    return record


if __name__ == "__main__":
    target = Path(sys.argv[1])
    try:
        outcome = build(target)
    except Exception as exc:  # recorded for the waiting test, which fails with it
        outcome = {"rc": 1, "error": str(exc)}
    (target / "build.json.tmp").write_text(json.dumps(outcome))
    (target / "build.json.tmp").rename(target / "build.json")
