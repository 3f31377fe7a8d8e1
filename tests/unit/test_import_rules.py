"""design.md rule 1: the core never imports web or queue code; the API never imports torch/mace."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = {"fastapi", "starlette", "celery", "kombu", "uvicorn", "services"}
# the API sends tasks (celery as a producer) but never runs a model
FORBIDDEN_IN_API = {"torch", "mace", "e3nn"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_sources_never_import_web_or_queue_code() -> None:
    """Static: every import statement in wise_al/, including ones inside functions."""
    offenders = {
        str(path.relative_to(REPO)): sorted(_imported_roots(path) & FORBIDDEN_IN_CORE)
        for path in (REPO / "wise_al").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=REPO
    ).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_core_and_cli_load_without_web_or_queue_code() -> None:
    """Dynamic: what importing the core actually pulls in, transitively."""
    loaded = _modules_after(
        "import wise_al.cli, wise_al.client, wise_al.db.repositories, wise_al.db.migrate, "
        "wise_al.spec, wise_al.settings"
    )
    assert loaded & FORBIDDEN_IN_CORE == set()
    # and the CLI starts without torch: commands that need a model import it themselves
    assert loaded & {"torch", "mace", "e3nn"} == set()


def test_api_process_never_loads_torch_or_mace(tmp_path: Path) -> None:
    """Build the app and validate a spec with CP2K overrides: still no torch or mace."""
    loaded = _modules_after(
        "from wise_al.settings import ApiSettings\n"
        "from services.api.app import create_app\n"
        f"create_app(ApiSettings(home={str(tmp_path)!r}))\n"
        "from tests.factories import example_spec\n"
        "from wise_al.spec import parse_spec\n"
        "parse_spec(example_spec('21m'))\n"
    )
    assert "fastapi" in loaded  # the probe really built the app
    assert loaded & FORBIDDEN_IN_API == set()
