"""The schema registry: JSON Schemas on disk, compiled once, cached per schema.

Event schemas live in `schemas/events/<type>/<version>.json`, read at run time
from the package's `formrelay/schemas`: in the source tree a link to the repository's
`schemas/` (the one source), in an installed package (a wheel, the Lambda layer) a
copy that the build made from it. Validation runs
on validators compiled by fastjsonschema; only when a document fails does the
slower jsonschema walk it again to list every error with its JSON pointer
(fastjsonschema stops at the first).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from formrelay.domain.canonical import canonical_json
from formrelay.domain.errors import EventSchemaError, UnknownEventTypeError

if TYPE_CHECKING:
    import jsonschema

_DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "schemas"


def schemas_root() -> Path:
    """Where the registry's source lives (FORMRELAY_SCHEMAS_DIR overrides)."""
    return Path(os.environ.get("FORMRELAY_SCHEMAS_DIR", _DEFAULT_ROOT))


@dataclass(frozen=True)
class SchemaViolation:
    """One reason a document fails its schema: where, and what is wrong."""

    pointer: str
    message: str


def _pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "".join("/" + p for p in parts)


def _where(error: jsonschema.ValidationError) -> list[Any]:
    """Where an error is: a missing property's own place, not the object that lacks it.

    jsonschema reports `required` and `dependencies` at the object; a client fixing a
    form wants the field. One error is made per missing property, named in its message.
    """
    path = list(error.absolute_path)
    instance, expected = error.instance, error.validator_value
    if not isinstance(instance, dict):
        return path
    if error.validator == "required" and isinstance(expected, list):
        for name in expected:
            if name not in instance and error.message == f"{name!r} is a required property":
                return [*path, name]
    if error.validator == "dependencies" and isinstance(expected, dict):
        for present, needed in expected.items():
            if present not in instance or not isinstance(needed, list):
                continue
            for name in needed:
                if (
                    name not in instance
                    and error.message == f"{name!r} is a dependency of {present!r}"
                ):
                    return [*path, name]
    return path


@lru_cache(maxsize=512)
def _compiled(schema_text: str) -> Callable[[Any], Any]:
    # use_default=False: fastjsonschema otherwise writes each `default` into the
    # document it validates, so a submission would be stored with values its sender
    # never signed, and a document checked once would pass a second check it fails.
    return fastjsonschema.compile(json.loads(schema_text), use_default=False)


class CompiledSchema:
    """A JSON Schema (draft-07) compiled for fast validation."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._validate = _compiled(canonical_json(schema).decode("utf-8"))

    def accepts(self, document: Any) -> bool:
        """Whether document passes the schema (the fast path, no error list)."""
        try:
            self._validate(document)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    def violations(self, document: Any) -> list[SchemaViolation]:
        """Every way document fails the schema; empty when it passes."""
        try:
            self._validate(document)
        except fastjsonschema.JsonSchemaValueException as first:
            return self._all_violations(document, first)
        return []

    def _all_violations(
        self, document: Any, first: fastjsonschema.JsonSchemaValueException
    ) -> list[SchemaViolation]:
        import jsonschema  # only a failing document pays for its import

        validator = jsonschema.Draft7Validator(
            self.schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
        )
        # Ordered by where each is; errors at one place keep the schema's order.
        located = sorted(
            ((_where(error), error.message) for error in validator.iter_errors(document)),
            key=lambda pair: pair[0],
        )
        found = [SchemaViolation(_pointer(path), message) for path, message in located]
        if found:
            return found
        # The two validators disagree (formats differ slightly): trust the strict one.
        path = (first.name or "data").split(".")[1:]
        return [SchemaViolation(_pointer(path), first.message)]


@lru_cache(maxsize=16)
def api_schema(name: str) -> CompiledSchema:
    """The compiled schema of a request body the API checks (schemas/api/<name>.json)."""
    path = schemas_root() / "api" / f"{name}.json"
    return CompiledSchema(json.loads(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=128)
def event_schema(event_type: str, version: int) -> CompiledSchema:
    """The compiled schema of one event type at one version."""
    if "/" in event_type or event_type.startswith("."):
        raise UnknownEventTypeError(f"no schema for {event_type} v{version}")
    path = schemas_root() / "events" / event_type / f"{version}.json"
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UnknownEventTypeError(f"no schema for {event_type} v{version}") from exc
    return CompiledSchema(schema)


def check_event_data(event_type: str, version: int, data: dict[str, Any]) -> None:
    """Raise EventSchemaError unless data satisfies the event type's schema."""
    violations = event_schema(event_type, version).violations(data)
    if violations:
        detail = "; ".join(f"{v.pointer or '/'}: {v.message}" for v in violations[:5])
        raise EventSchemaError(f"{event_type} v{version} data is invalid: {detail}")
