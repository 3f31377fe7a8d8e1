"""design.md rule 1: the core never imports web or queue code; the API never imports torch/mace."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def _modules_after(code: str, whole: bool = False) -> set[str]:
    """Top-level packages (or, ``whole``, every module) loaded after running ``code``."""
    probe = code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=REPO
    ).stdout
    names = json.loads(out.splitlines()[-1])
    return set(names) if whole else {name.split(".")[0] for name in names}


def test_core_and_cli_load_without_web_or_queue_code() -> None:
    """Dynamic: what importing the core actually pulls in, transitively."""
    loaded = _modules_after(
        "import wise_al.cli, wise_al.client, wise_al.db.repositories, wise_al.db.migrate, "
        "wise_al.campaign_spec, wise_al.settings"
    )
    assert loaded & FORBIDDEN_IN_CORE == set()
    # and the CLI starts without torch: commands that need a model import it themselves
    assert loaded & {"torch", "mace", "e3nn"} == set()


@pytest.mark.slow
def test_api_process_never_loads_torch_or_mace(tmp_path: Path) -> None:
    """Build the app and validate a spec with CP2K overrides: still no torch or mace."""
    loaded = _modules_after(
        "from wise_al.settings import ApiSettings\n"
        "from services.api.app import create_app\n"
        f"create_app(ApiSettings(home={str(tmp_path)!r}))\n"
        "from tests.support.factories import example_spec\n"
        "from wise_al.campaign_spec import parse_spec\n"
        "parse_spec(example_spec('21m'))\n"
    )
    assert "fastapi" in loaded  # the probe really built the app
    assert loaded & FORBIDDEN_IN_API == set()


def test_the_api_loads_no_implementation_of_a_unit(tmp_path: Path) -> None:
    """The API reads the units' declarations (resource, for GPU hours); their implementations
    (MD, CP2K, MACE, packmol code) load only where a unit runs."""
    from wise_al.jobs.registry import DECLARED

    loaded = _modules_after(
        "from wise_al.settings import ApiSettings\n"
        "from services.api.app import create_app\n"
        f"create_app(ApiSettings(home={str(tmp_path)!r}))\n",
        whole=True,
    )
    assert "wise_al.jobs.registry" in loaded and "services.api.app" in loaded
    implementations = {d.implementation.split(":")[0] for d in DECLARED.values()}
    assert len(implementations) == len(DECLARED)
    assert loaded & implementations == set()


def _imports(path: Path) -> list[str]:
    """Every absolute module an import statement names, including ones inside functions."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _package(module: str) -> str:
    """``wise_al.cp2k.label`` -> ``cp2k``; a top-level module is its own package."""
    return module.split(".")[1] if module.count(".") else module


def package_graph() -> dict[str, set[str]]:
    """wise_al package -> the wise_al packages it imports (every import statement)."""
    graph: dict[str, set[str]] = {}
    for path in (REPO / "wise_al").rglob("*.py"):
        source = _package(".".join(path.relative_to(REPO).with_suffix("").parts))
        for module in _imports(path):
            if module.startswith("wise_al."):
                target = _package(module)
                if target != source:
                    graph.setdefault(source, set()).add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a -> ... -> a, as the path that closes it (depth-first, each once)."""
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target == path[0]:
                found.append([*path, target])
            elif target not in path and target > path[0]:  # each cycle from its least node
                visit(target, [*path, target])

    for start in sorted(graph):
        visit(start, [start])
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"spec": {"cp2k"}, "cp2k": {"spec", "systems"}}) == [["cp2k", "spec", "cp2k"]]
    assert cycles({"mace": {"cp2k"}, "cp2k": {"systems"}}) == []


def test_no_cycle_between_core_packages() -> None:
    """Science packages import downwards only (e.g. spec never imports cp2k back)."""
    assert cycles(package_graph()) == []


def test_science_packages_stay_apart() -> None:
    """MACE code never runs CP2K: reference energies and the demo pipeline live elsewhere."""
    graph = package_graph()
    assert "cp2k" not in graph.get("mace", set())
    assert "mace" not in graph.get("cp2k", set())
    # the loop is pure: counts in, decision out
    assert graph.get("loop", set()) <= {"campaign_spec"}


#: Receivers whose query methods build SQL; outside repositories they may not be called.
QUERY_METHODS = {"execute", "scalars", "scalar", "query", "get", "get_one"}
#: What jobs and services may import from SQLAlchemy: types and exceptions, no SQL.
ALLOWED_SQLALCHEMY = {"sqlalchemy.orm": {"Session", "sessionmaker"}, "sqlalchemy.exc": None}


def sql_outside_repositories(path: Path) -> list[str]:
    """Lines of ``path`` that build SQL: SQLAlchemy constructs or queries on a session."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("sqlalchemy")
        ):
            allowed = ALLOWED_SQLALCHEMY.get(node.module, set())
            names = {alias.name for alias in node.names}
            if allowed is not None and names - allowed:
                problems.append(
                    f"{node.lineno}: from {node.module} import {sorted(names - allowed)}"
                )
        elif isinstance(node, ast.Import) and any(a.name == "sqlalchemy" for a in node.names):
            problems.append(f"{node.lineno}: import sqlalchemy")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"session", "db"}
        ):
            problems.append(f"{node.lineno}: session.{node.func.attr}(...)")
    return problems


def test_the_sql_rule_sees_sql(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import select\nfrom sqlalchemy.orm import Session\n"
        "def f(session):\n    return session.scalars(select(1))\n"
    )
    assert sql_outside_repositories(bad) == [
        "1: from sqlalchemy import ['select']",
        "4: session.scalars(...)",
    ]


def test_jobs_and_services_build_no_sql() -> None:
    """Every query lives in wise_al/db/repositories."""
    roots = [REPO / "wise_al" / "jobs", REPO / "services"]
    offenders = {
        str(path.relative_to(REPO)): problems
        for root in roots
        for path in root.rglob("*.py")
        if "node_modules" not in path.parts and (problems := sql_outside_repositories(path))
    }
    assert offenders == {}


def rows_built(path: Path) -> list[str]:
    """Calls of a database model class (a row being built) in ``path``."""
    from wise_al.db import models
    from wise_al.db.base import Base

    tree = ast.parse(path.read_text(), filename=str(path))
    rows = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "wise_al.db.models"
        for alias in node.names
        if isinstance(model := getattr(models, alias.name, None), type) and issubclass(model, Base)
    }
    return [
        f"{node.lineno}: {node.func.id}(...)"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in rows
    ]


def test_the_row_rule_sees_a_row_built(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from wise_al.db.models import Frame, FrameStatus\n"
        "def f(session):\n    session.add(Frame(md_step=0, status=FrameStatus('selected')))\n"
    )
    assert rows_built(bad) == ["3: Frame(...)"]  # an enum is not a row


def test_jobs_build_no_rows() -> None:
    """Every row a unit creates goes through a repository method (one place per row)."""
    offenders = {
        path.name: problems
        for path in (REPO / "wise_al" / "jobs").glob("*.py")
        if (problems := rows_built(path))
    }
    assert offenders == {}


#: Identifiers that are Celery's vocabulary: queues and task names are the worker's.
CELERY_WORDS = re.compile(r"(^|_)(queues?|task_name|send_task|routing_key)($|_)", re.IGNORECASE)


def celery_vocabulary(path: Path) -> list[str]:
    """Identifiers naming queues or tasks, and task-name strings, in ``path``."""
    from wise_al.loop import Unit

    task_names = {f"wise_al.{unit}" for unit in Unit} | {"wise_al.advance"}
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, ast.keyword):
            names = [node.arg] if node.arg else []
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Constant) and node.value in task_names:
            found.append(f"{node.lineno}: task name {node.value!r}")
        elif isinstance(node, ast.Constant) and node.value == "-Q":
            found.append(f"{node.lineno}: a worker's queue option")
        line = getattr(node, "lineno", 0)
        found += [f"{line}: {n}" for n in names if CELERY_WORDS.search(n)]
    return found


def test_the_celery_rule_sees_queues(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('QUEUES = {"explore": "gpu"}\nname = "wise_al.label"\n')
    assert celery_vocabulary(bad) == ["1: QUEUES", "2: task name 'wise_al.label'"]


def test_the_core_names_no_queue_or_task() -> None:
    """Units declare the resource they need; services/worker/routes.py maps it to Celery."""
    offenders = {
        str(path.relative_to(REPO)): words
        for path in (REPO / "wise_al").rglob("*.py")
        if (words := celery_vocabulary(path))
    }
    assert offenders == {}


def test_every_unit_is_declared_once_and_routed() -> None:
    from services.worker.routes import ROUTES
    from wise_al.jobs.registry import UNITS
    from wise_al.loop import Unit

    assert set(UNITS) == set(Unit) == set(ROUTES)
    assert all(kind.unit == unit for unit, kind in UNITS.items())  # each loads what it declares
    assert len({name for name, _ in ROUTES.values()}) == len(Unit)


#: Import name -> distribution name, where they differ.
DISTRIBUTION = {
    "yaml": "pyyaml",
    "pydantic_settings": "pydantic-settings",
    "cp2k_input_tools": "cp2k-input-tools",
    "mace": "mace-torch",
    "e3nn": "mace-torch",  # mace-torch's own dependency, used only with it
}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_every_library_the_core_imports_is_declared() -> None:
    """A clean install of the core (the API image) gets what the core imports; torch and
    mace only with the worker extra, and only wise_al/mace imports them; the worker's other
    libraries (D3) only the packages that run on workers (mace, md)."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = _requirement_names(project["dependencies"])
    worker = _requirement_names(project["optional-dependencies"]["worker"])
    undeclared, outside_mace = {}, {}
    for path in (REPO / "wise_al").rglob("*.py"):
        for root in _imported_roots(path) - set(sys.stdlib_module_names) - {"wise_al"}:
            dist = DISTRIBUTION.get(root, root).lower()
            if dist in worker:
                allowed = {"mace"} if dist in ("torch", "mace-torch") else {"mace", "md"}
                if path.parent.name not in allowed:
                    outside_mace[str(path.relative_to(REPO))] = root
            elif dist not in core:
                undeclared[str(path.relative_to(REPO))] = root
    assert undeclared == {}
    assert outside_mace == {}


def test_benchmarks_share_helpers_only_through_tests_support() -> None:
    """Benchmarks import the helpers tests use from tests.support, never a test module."""
    offenders = {
        str(path.relative_to(REPO)): module
        for path in (REPO / "benchmarks").rglob("*.py")
        for module in _imports(path)
        if module.startswith("tests") and not module.startswith("tests.support")
    }
    assert offenders == {}
