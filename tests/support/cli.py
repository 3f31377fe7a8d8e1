"""The `wise-al` command as a user runs it, and waiting for a server to come up."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

WISE_AL = [sys.executable, "-m", "wise_al"]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cli:
    """The `wise-al` command with an environment, as a user runs it.

    ``timeout_s`` guards against a hang; commands that run CP2K MD need more than the
    default when three tests share two cores.
    """

    env: dict[str, str]
    timeout_s: float = 120

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*WISE_AL, *args], env=self.env, capture_output=True, text=True, timeout=self.timeout_s
        )
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def fails(self, *args: str, code: int = 1) -> str:
        """Run a command that must fail; return its single stderr line."""
        result = self.run(*args, ok=False)
        assert result.returncode == code, (result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        return lines[0]


def wait_until_up(url: str, server: subprocess.Popen[Any]) -> None:
    """Return once the API at ``url`` answers its health check."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the API process exited early"
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the API process did not come up")


@contextmanager
def api_process(database_url: str, work: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The real API (uvicorn, its own process) on ``database_url``; yields its base URL.

    ``env`` adds to its environment."""
    port = free_port()
    env = {
        **os.environ,
        **(env or {}),
        "WISE_AL_HOME": str(work),
        "WISE_AL_DATABASE_URL": database_url,
        "WISE_AL_ARTIFACT_DIR": str(work / "artifacts"),
        "WISE_AL_BROKER_URL": f"sqla+sqlite:///{work / 'broker.db'}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "services.api.app:create_app",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
