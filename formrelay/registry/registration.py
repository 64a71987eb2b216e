"""Registering a form's schema: the one way a form gets a new version.

The schema must be a draft-07 JSON Schema of an object (submissions are JSON
objects) whose `$ref`s stay inside it. The same schema as the current version
(canonical JSON equality) writes nothing. Any other schema is checked against
the form's history under its compatibility mode and becomes the next version
only if the checker finds it compatible: an incompatible schema is refused with
every reason, and so is one the checker cannot decide (mode NONE registers
anything valid). The check and the write are based on the same head: when
another writer changed the form in between, the write is refused by the
catalog, and the registration reads the history again and checks again.

`compatibility` None keeps the form's mode (BACKWARD for a new form); a new mode
is stored with the version it checks, or alone when the schema is the current one
(changing the mode alone checks nothing: it governs the versions to come).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastjsonschema
import jsonschema

from formrelay.domain.canonical import canonical_json
from formrelay.domain.errors import InvalidIdentifierError
from formrelay.domain.ids import FORM_ID, check
from formrelay.registry.compatibility import Mode
from formrelay.registry.compatibility import check as compatibility_check
from formrelay.registry.errors import (
    CompatibilityUndecidedError,
    IncompatibleSchemaError,
    InvalidFormIdError,
    InvalidSchemaError,
    UnknownCompatibilityError,
)
from formrelay.registry.forms import (
    FormBusyError,
    FormCatalog,
    FormChangedError,
    FormHead,
    FormHistory,
)
from formrelay.registry.schemas import CompiledSchema

__all__ = [
    "DEFAULT_COMPATIBILITY",
    "CompatibilityUndecidedError",
    "IncompatibleSchemaError",
    "Registration",
    "form_schema_problem",
    "parse_mode",
    "register",
]

DEFAULT_COMPATIBILITY = Mode.BACKWARD
DRAFT_07 = "http://json-schema.org/draft-07/schema"
# Registrations of one form racing each other: each re-reads and re-checks, this many times.
_TRIES = 10
_TRANSITIVE = frozenset({Mode.BACKWARD_TRANSITIVE, Mode.FORWARD_TRANSITIVE, Mode.FULL_TRANSITIVE})


@dataclass(frozen=True)
class Registration:
    """What a registration did: the form's head after it, and whether anything changed."""

    form_id: str
    version: int
    compatibility: Mode
    created: bool  # the form is new (its version 1)
    changed: bool  # a version or the mode was written; False: the same schema and mode again

    def body(self) -> dict[str, Any]:
        """The API's answer: {"form_id", "version", "compatibility"}."""
        return {
            "form_id": self.form_id,
            "version": self.version,
            "compatibility": self.compatibility.value,
        }


def parse_mode(given: object) -> Mode:
    """A compatibility mode by its name (exactly, e.g. "BACKWARD"); UnknownCompatibilityError."""
    if isinstance(given, Mode):
        return given
    if isinstance(given, str) and given in Mode.__members__:
        return Mode(given)
    raise UnknownCompatibilityError(given, [mode.value for mode in Mode])


def register(
    forms: FormCatalog,
    tenant_id: str,
    form_id: str,
    schema: Any,
    compatibility: Mode | str | None = None,
) -> Registration:
    """Make schema the form's next version (or its first), checked under the form's mode."""
    try:
        check(FORM_ID, form_id, "form id")
    except InvalidIdentifierError as exc:
        raise InvalidFormIdError(str(exc)) from exc
    asked = None if compatibility is None else parse_mode(compatibility)
    problem = form_schema_problem(schema)
    if problem is not None:
        raise InvalidSchemaError(problem)
    for _ in range(_TRIES):
        history = forms.history(tenant_id, form_id)
        try:
            if history is None:
                head = forms.add_version(
                    tenant_id, form_id, schema, asked or DEFAULT_COMPATIBILITY, after=None
                )
                return _registered(head, created=True, changed=True)
            return _evolve(forms, tenant_id, history, schema, asked or history.head.compatibility)
        except FormChangedError:
            continue  # another writer changed the form since it was read: read, check again
    raise FormBusyError(f"form {form_id} kept changing; try again")


def _evolve(
    forms: FormCatalog, tenant_id: str, history: FormHistory, schema: Any, mode: Mode
) -> Registration:
    head = history.head
    if canonical_json(schema) == canonical_json(history.schemas[-1]):
        if mode == head.compatibility:
            return _registered(head, created=False, changed=False)
        return _registered(
            forms.set_compatibility(tenant_id, history, mode), created=False, changed=True
        )
    if mode is not Mode.NONE:
        previous = history.schemas if mode in _TRANSITIVE else history.schemas[-1:]
        verdict = compatibility_check(previous, schema, mode)
        if verdict.compatible is False:
            raise IncompatibleSchemaError(head.form_id, verdict)
        if verdict.compatible is None:
            raise CompatibilityUndecidedError(head.form_id, verdict)
    added = forms.add_version(tenant_id, head.form_id, schema, mode, after=head)
    return _registered(added, created=False, changed=True)


def _registered(head: FormHead, *, created: bool, changed: bool) -> Registration:
    return Registration(head.form_id, head.version, head.compatibility, created, changed)


def form_schema_problem(schema: Any) -> str | None:
    """Why schema cannot be a form's schema (draft-07, an object, local refs), or None."""
    if not isinstance(schema, dict):
        return "a form's schema must be a JSON object (a JSON Schema, draft-07)"
    declared = schema.get("$schema")
    if declared is not None and str(declared).rstrip("#") != DRAFT_07:
        return f'"$schema" must be {DRAFT_07}# (draft-07) or left out'
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        return f"not a draft-07 JSON Schema at {_pointer(error.absolute_path)}: {error.message}"
    if schema.get("type") != "object":
        return 'a form\'s schema must describe a JSON object: "type": "object" at its top'
    for pointer, key, value in _keywords(schema, ""):
        if key == "$ref" and not (isinstance(value, str) and value.startswith("#")):
            return f"$ref at {pointer} must point inside the schema (start with #)"
        if key == "$id" and pointer != "/$id":
            return f"$id at {pointer}: only the schema's top may have an $id"
    try:
        CompiledSchema(schema)
    except (fastjsonschema.JsonSchemaDefinitionException, ValueError, TypeError) as exc:
        return f"the schema does not compile: {exc}"
    return None


def _keywords(node: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    """Every (pointer, key, value) of every object in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{pointer}/{_escape(key)}"
            yield here, key, value
            yield from _keywords(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _keywords(value, f"{pointer}/{index}")


def _pointer(path: Any) -> str:
    return "".join("/" + _escape(str(part)) for part in path) or "/"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
