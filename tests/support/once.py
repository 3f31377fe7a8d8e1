"""Things built once per test run and shared by every pytest-xdist worker.

Each worker has a session of its own, so a session fixture alone would build its thing once
per worker. The first worker to ask builds it in a folder all workers share, under a file
lock; the others wait on the lock and read what it left. A build that failed leaves no
``done`` marker, so the next worker to ask tries again (and fails with its own error).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock


def run_uid(config: pytest.Config) -> str:
    """An id of this test run, the same in the controller and every worker."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return str(workerinput["testrunuid"])
    if getattr(config.option, "testrunuid", None) is None:
        # the controller hands its value to the workers it starts (pytest-xdist's option)
        config.option.testrunuid = uuid.uuid4().hex
    return str(config.option.testrunuid)


def shared_root(tmp_path_factory: pytest.TempPathFactory, config: pytest.Config) -> Path:
    """A folder every worker of this run sees: the parent of the workers' own folders."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if hasattr(config, "workerinput") else base) / "shared"
    root.mkdir(parents=True, exist_ok=True)
    return root


def build_once(folder: Path, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """``build(folder)``'s record, built by the first caller of the run and read by the rest.

    ``build`` fills ``folder`` and returns a JSON-able record of what it built.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    done = folder.with_name(folder.name + ".done.json")
    with FileLock(str(folder) + ".lock"):
        if done.is_file():
            return dict(json.loads(done.read_text()))
        folder.mkdir(exist_ok=True)
        record = build(folder)
        done.write_text(json.dumps(record))
        return record
