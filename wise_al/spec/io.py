"""Reading campaign specs from YAML or JSON, with errors that name the field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from wise_al.errors import SpecError
from wise_al.spec.campaign import CampaignSpec
from wise_al.spec.study import StudySpec

M = TypeVar("M", bound=BaseModel)

#: Largest spec file read from disk; specs are small, a huge file is a mistake.
MAX_SPEC_BYTES = 1_048_576


def field_path(loc: Sequence[object]) -> str:
    """Dotted path of a pydantic error location, e.g. ``system.walkers[0].temperature_K``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "spec"


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """One readable line for a list of pydantic-style errors (``loc``, ``msg``)."""
    parts = []
    for error in errors:
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{field_path(error['loc'])}: {message}")
    return "; ".join(parts)


def parse_model(model: type[M], data: object, what: str = "spec") -> M:
    """Validate decoded JSON or YAML (a mapping) into ``model``.

    Raises
    ------
    SpecError
        With ``errors`` as ``[{"loc": [...], "msg": ..., "type": ...}]`` and a one-line message.
    """
    if not isinstance(data, dict):
        raise SpecError(
            f"{what}: must be a mapping of fields",
            [{"loc": [], "msg": "must be a mapping", "type": "dict_type"}],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "loc": list(e["loc"]),
                "msg": e["msg"].removeprefix("Value error, "),
                "type": e["type"],
            }
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise SpecError(describe_errors(errors), errors) from None


def parse_spec(data: object) -> CampaignSpec:
    """Validate a decoded spec (dict) into a :class:`CampaignSpec` (see :func:`parse_model`)."""
    if not isinstance(data, dict):
        raise SpecError(
            "spec: must be a mapping of sections (system, model, ...)",
            [{"loc": [], "msg": "must be a mapping", "type": "dict_type"}],
        )
    return parse_model(CampaignSpec, data)


class _SpecLoader(yaml.SafeLoader):
    """A safe loader for specs: no aliases, no duplicate keys, ``1e-6`` is a float.

    Aliases are refused because a few bytes of ``&a [*a, *a]`` nest into trees that take
    hours to walk or never end; duplicate keys because the last one silently winning hides
    mistakes. YAML 1.1 reads ``1e-6`` as a string; specs follow YAML 1.2 and JSON there.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in specs", mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def decode_json_text(text: str | bytes, source: str = "spec") -> object:
    """Decode JSON, refusing duplicate keys (the last one silently winning hides mistakes)."""
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except _DuplicateKey as exc:
        raise SpecError(f"{source}: key {exc.args[0]!r} appears twice") from None
    except (ValueError, RecursionError) as exc:
        raise SpecError(f"{source}: not valid JSON ({str(exc)[:120]})") from None


def decode_spec_text(text: str | bytes, source: str = "spec") -> object:
    """Decode YAML or JSON text (JSON first: YAML 1.1 misreads some JSON numbers)."""
    try:
        return decode_json_text(text, source)
    except SpecError as exc:
        if "appears twice" in str(exc):
            raise
    try:
        return yaml.load(text, Loader=_SpecLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None)
        reason = f": {problem}" if problem else ""
        raise SpecError(f"{source}: not valid YAML or JSON{where}{reason}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 5000 digits
        raise SpecError(f"{source}: not valid YAML or JSON ({str(exc)[:120]})") from None


class _DuplicateKey(Exception):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def parse_spec_text(text: str, source: str = "spec") -> CampaignSpec:
    """Parse YAML or JSON text into a validated spec."""
    return parse_spec(decode_spec_text(text, source))


def _read_spec_file(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SpecError(f"{path}: cannot read ({exc.strerror})") from None
    if size > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: {size} bytes, larger than the {MAX_SPEC_BYTES} a spec may be")
    return path.read_text(encoding="utf-8")


def _named(path: Path, exc: SpecError) -> SpecError:
    if str(exc).startswith(str(path)):
        return exc
    return SpecError(f"{path}: {exc}", exc.errors)


def load_spec(path: Path) -> CampaignSpec:
    """Read and validate a spec file (``.yaml``, ``.yml`` or ``.json``)."""
    text = _read_spec_file(path)
    try:
        return parse_spec_text(text, source=str(path))
    except SpecError as exc:
        raise _named(path, exc) from None


def load_study(path: Path) -> StudySpec:
    """Read and validate a study file (YAML or JSON); its variants are checked on submit."""
    text = _read_spec_file(path)
    try:
        return parse_model(StudySpec, decode_spec_text(text, source=str(path)), what="study")
    except SpecError as exc:
        raise _named(path, exc) from None


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema of the campaign spec (for editors and the API docs)."""
    return CampaignSpec.model_json_schema()


def dump_spec(spec: CampaignSpec) -> dict[str, Any]:
    """The spec as stored: every default filled in, JSON-compatible."""
    return json.loads(spec.model_dump_json())
