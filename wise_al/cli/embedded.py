"""``wise-al up``: the API and one worker for every kind of unit on this machine, on SQLite.

The broker is a SQLite file too (kombu's SQLAlchemy transport): nothing to install. The
processes are started by argv, so the core never imports the services it launches.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Annotated

import typer

from wise_al.cli.admin import serve_command
from wise_al.cli.output import console
from wise_al.client import ApiError, WiseAlClient
from wise_al.db import migrate
from wise_al.errors import WiseAlError
from wise_al.settings import CoreSettings

HostOpt = Annotated[str, typer.Option(help="address the API listens on")]
PortOpt = Annotated[int, typer.Option(min=1, max=65535)]


def worker_command(concurrency: int = 2) -> list[str]:
    """argv of one worker that takes every kind of unit (the worker app lists its queues)."""
    return [
        sys.executable, "-m", "celery", "-A", "services.worker.tasks", "worker",
        "-c", str(concurrency), "-n", "embedded@%h", "--loglevel", "INFO",
    ]  # fmt: skip


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port``."""
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Return once the API answers its health check; raise if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    with WiseAlClient(url) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise WiseAlError(f"the API exited with code {server.returncode} while starting")
            try:
                client.health()
                return
            except ApiError:
                time.sleep(0.2)
    raise WiseAlError(f"the API did not answer within {timeout_s:.0f} s")


def _start(
    stack: ExitStack, argv: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    sink = stack.enter_context(log.open("ab"))
    process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    stack.callback(stop)
    return process


def _exit_on_sigterm(stack: ExitStack) -> None:
    """Turn SIGTERM into SystemExit, so the stack stops what it started (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    stack.callback(signal.signal, signal.SIGTERM, previous)


@contextmanager
def embedded(
    settings: CoreSettings, host: str, port: int, concurrency: int = 2
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Migrate, start the API, recover lost work, start the worker; yields (URL, API process).

    Everything started is stopped when the block ends, also on SIGTERM (what ``kill``,
    systemd and docker send): the worker gets its warm shutdown, then is killed after 30 s.
    """
    if not port_free(host, port):
        raise WiseAlError(f"port {port} on {host} is in use: stop what runs there or pass --port")
    migrate.upgrade(settings.resolved_database_url())
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    url = f"http://{host}:{port}"
    with ExitStack() as stack:
        _exit_on_sigterm(stack)
        server = _start(stack, serve_command(host, port, "warning"), logs / "api.log")
        wait_healthy(url, server)
        # no worker runs yet: empty the embedded queues and send what the database says
        # is unfinished, so a restart continues every running campaign exactly once
        recovered = subprocess.run(
            [sys.executable, "-m", "services.worker.recover", "--purge"],
            capture_output=True,
            text=True,
            check=False,
        )
        if recovered.returncode != 0:
            raise WiseAlError(f"recovering queued work failed: {recovered.stderr.strip()[-300:]}")
        console.print(recovered.stdout.strip(), markup=False)
        # share the cores between concurrent jobs instead of oversubscribing them
        threads = max(1, (os.cpu_count() or 1) // concurrency)
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        _start(stack, worker_command(concurrency=concurrency), logs / "worker.log", env)
        console.print(f"logs in {logs}")
        yield url, server


def up(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    concurrency: Annotated[int, typer.Option(min=1, help="jobs run at once")] = 2,
) -> None:
    """Run the API and the workers on this machine (SQLite, no servers); Ctrl-C stops."""
    settings = CoreSettings()
    with embedded(settings, host, port, concurrency) as (url, server):
        console.print(f"[bold]wise-al[/] up: dashboard {url}, API {url}/api/v1 (docs {url}/docs)")
        with suppress(KeyboardInterrupt):
            server.wait()


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command()(up)
