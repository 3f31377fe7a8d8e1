"""Reading campaign specs from YAML or JSON, with errors that name the field."""

from __future__ import annotations

import json
import math
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from wise_al.campaign_spec.campaign import CampaignSpec
from wise_al.campaign_spec.study import StudySpec
from wise_al.errors import MAX_LISTED_ERRORS, MAX_QUOTED_CHARS, SpecError, clip

M = TypeVar("M", bound=BaseModel)

#: Largest spec file read from disk; specs are small, a huge file is a mistake.
MAX_SPEC_BYTES = 1_048_576
#: Most YAML nodes (scalars, lists, mappings) a spec may hold: the example has ~150, a study
#: of eight variants ~2000. Checked while composing, so 50 000 unknown keys cost milliseconds.
MAX_SPEC_NODES = 20_000
#: Deepest nesting of a spec or metadata (a spec with CP2K overrides nests about 10 deep).
MAX_SPEC_DEPTH = 64
#: Problems named in one error message; the rest are counted ("and 12 more").
MAX_REPORTED_ERRORS = 5


def field_path(loc: Sequence[object]) -> str:
    """Dotted path of a pydantic error location, e.g. ``system.walkers[0].temperature_K``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "spec"


def describe_errors(errors: Sequence[Mapping[str, Any]], total: int | None = None) -> str:
    """One readable line for pydantic-style errors (``loc``, ``msg``): the first few, counted.

    ``total`` is how many there were when ``errors`` is already a shortened list.
    """
    parts = []
    for error in errors[:MAX_REPORTED_ERRORS]:
        message = str(error["msg"]).removeprefix("Value error, ")[:300]
        parts.append(f"{field_path(error['loc'])[:200]}: {message}")
    more = (total if total is not None else len(errors)) - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


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
            for e in exc.errors(include_url=False, include_input=False)[:MAX_LISTED_ERRORS]
        ]
        raise SpecError(describe_errors(errors, exc.error_count()), errors) from None


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
        self.nodes = getattr(self, "nodes", 0) + 1
        if self.nodes > MAX_SPEC_NODES:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, f"more than {MAX_SPEC_NODES} values; a spec is far smaller", mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {clip(key, MAX_QUOTED_CHARS)!r} appears twice",
                    key_node.start_mark,
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


def _plain_tree(data: object, source: str) -> object:
    """``data`` after checking it nests at most :data:`MAX_SPEC_DEPTH` deep and holds only
    text UTF-8 can encode (JSON's ``"\\ud800"`` decodes to a lone surrogate, which no
    database or response can store)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_SPEC_DEPTH:
            raise SpecError(f"{source}: nested deeper than {MAX_SPEC_DEPTH} levels")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise SpecError(f"{source}: text with a lone surrogate (not UTF-8)") from None
        elif isinstance(item, dict):
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list):
            stack.extend((part, depth + 1) for part in item)
    return data


def _no_constant(name: str) -> object:
    raise _DecidedJson(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _DecidedJson(f"{text[:40]} is beyond the range of a number")
    return value


def decode_json_text(text: str | bytes, source: str = "spec") -> object:
    """Decode JSON, refusing duplicate keys (the last one silently winning hides mistakes),
    ``NaN``, ``Infinity`` and numbers that overflow to them, deep nesting and lone
    surrogates."""
    try:
        data = json.loads(
            text,
            object_pairs_hook=_refuse_duplicate_keys,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
    except _DecidedJson as exc:  # valid JSON syntax, refused: YAML must not read it again
        raise SpecError(f"{source}: {exc.args[0]}") from None
    except (ValueError, RecursionError) as exc:
        raise SpecError(f"{source}: not valid JSON ({str(exc)[:120]})") from None
    return _plain_tree(data, source)


def decode_spec_text(text: str | bytes, source: str = "spec") -> object:
    """Decode YAML or JSON text (JSON first: YAML 1.1 misreads some JSON numbers)."""
    try:
        return decode_json_text(text, source)
    except SpecError as exc:
        if isinstance(exc.__context__, _DecidedJson):
            raise
    try:
        return _plain_tree(yaml.load(text, Loader=_SpecLoader), source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None)
        reason = f": {problem}" if problem else ""
        raise SpecError(f"{source}: not valid YAML or JSON{where}{reason}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 5000 digits
        raise SpecError(f"{source}: not valid YAML or JSON ({str(exc)[:120]})") from None


class _DecidedJson(Exception):
    """JSON refused for what it holds (a key twice, too many keys), not for its syntax."""


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_SPEC_NODES:
        raise _DecidedJson(f"more than {MAX_SPEC_NODES} keys in one object; a spec is far smaller")
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DecidedJson(f"key {clip(key, MAX_QUOTED_CHARS)!r} appears twice")
        result[key] = value
    return result


def parse_spec_text(text: str, source: str = "spec") -> CampaignSpec:
    """Parse YAML or JSON text into a validated spec."""
    return parse_spec(decode_spec_text(text, source))


def read_text_file(path: Path, what: str = "a spec", max_bytes: int = MAX_SPEC_BYTES) -> str:
    """The UTF-8 text of a small regular file, or a :class:`SpecError` in one line.

    Directories, FIFOs and devices are refused before opening (a FIFO would block,
    ``/dev/zero`` reports size 0 and never ends); the read stops one byte past the limit.
    """
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise SpecError(f"{path}: {kind}; {what} is a YAML or JSON file")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise SpecError(f"{path}: larger than the {max_bytes} bytes {what} may be")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise SpecError(f"{path}: UTF-16 text; save {what} as UTF-8")
    if b"\x00" in data:
        raise SpecError(f"{path}: a binary file (NUL bytes); {what} is UTF-8 YAML or JSON")
    try:
        return data.decode("utf-8-sig")  # a UTF-8 byte-order mark is harmless
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: not UTF-8 text (byte {exc.start}); {what} is UTF-8 YAML or JSON"
        ) from None


def _named(path: Path, exc: SpecError) -> SpecError:
    if str(exc).startswith(str(path)):
        return exc
    return SpecError(f"{path}: {exc}", exc.errors)


def load_spec(path: Path) -> CampaignSpec:
    """Read and validate a spec file (``.yaml``, ``.yml`` or ``.json``)."""
    text = read_text_file(path)
    try:
        return parse_spec_text(text, source=str(path))
    except SpecError as exc:
        raise _named(path, exc) from None


def load_study(path: Path) -> StudySpec:
    """Read and validate a study file (YAML or JSON); its variants are checked on submit."""
    text = read_text_file(path)
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
