"""The two validators every witness must convince, and the schema validity gate.

jsonschema (Draft7Validator with the registry's FormatChecker) is the reference;
fastjsonschema through CompiledSchema is what the registry really runs. A witness
counts only when both agree on it. Subschemas are judged by jsonschema alone, with
the whole document around them so that local `$ref`s still resolve.
"""

from __future__ import annotations

import re
from typing import Any

import fastjsonschema
import jsonschema

from formrelay.registry.errors import InvalidSchemaError
from formrelay.registry.refs import (
    Document,
    Location,
    UnresolvableReference,
    at_pointer,
    escape,
)
from formrelay.registry.schemas import CompiledSchema

FORMAT_CHECKER = jsonschema.Draft7Validator.FORMAT_CHECKER
# fastjsonschema validates by the draft a schema declares; the checker reasons in draft-07.
_OTHER_DRAFT = re.compile(r"draft-0[346]/|/draft/20")


def _non_local_reference(schema: Any) -> bool:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return True
        return any(_non_local_reference(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_non_local_reference(v) for v in schema)
    return False


def ensure_valid(schema: Any, name: str) -> None:
    """Raise InvalidSchemaError unless schema is a draft-07 schema both validators take."""
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.absolute_path) if exc.absolute_path else "/"
        raise InvalidSchemaError(
            f"the {name} schema is not a valid JSON Schema (draft-07): at {where}: {exc.message}"
        ) from exc
    declared = schema.get("$schema") if isinstance(schema, dict) else None
    if isinstance(declared, str) and _OTHER_DRAFT.search(declared):
        raise InvalidSchemaError(
            f"the {name} schema declares $schema {declared!r}: the registry reads draft-07 only"
        )
    awkward = _boolean_items_with_additional(schema, "")
    if awkward is not None:
        raise InvalidSchemaError(
            f"the {name} schema has a boolean items beside additionalItems at {awkward or '/'}:"
            " jsonschema cannot validate that; write items as {} (or drop additionalItems,"
            " which does nothing there)"
        )
    cycle = reference_cycle(schema)
    if cycle is not None:
        raise InvalidSchemaError(
            f"the {name} schema refers to itself at {cycle or '/'} without reaching into"
            " a property or an item: no validator can finish validating against it"
        )
    if _non_local_reference(schema):
        return  # compiling would fetch the other document; such parts are left undecided
    try:
        CompiledSchema(schema)
    except (fastjsonschema.JsonSchemaDefinitionException, re.error, ValueError, TypeError) as exc:
        raise InvalidSchemaError(f"the {name} schema does not compile: {exc}") from exc


_IN_PLACE = ("allOf", "anyOf", "oneOf")
_IN_PLACE_ONE = ("not", "if", "then", "else")


def _in_place(document: Document, location: Location) -> list[Location]:
    """The subschemas applied to the same value as location's (a $ref's target too)."""
    if not isinstance(location.schema, dict):
        return []
    if "$ref" in location.schema:
        try:
            return [at_pointer(document, str(location.schema["$ref"])[1:])]
        except UnresolvableReference:
            return []
    out = [
        location.child(k, i)
        for k in _IN_PLACE
        if isinstance(location.schema.get(k), list)
        for i in range(len(location.schema[k]))
    ]
    out += [location.child(k) for k in _IN_PLACE_ONE if k in location.schema]
    for name, dependency in location.schema.get("dependencies", {}).items():
        if isinstance(dependency, dict | bool):
            out.append(location.child("dependencies", name))
    return out


def reference_cycle(schema: Any) -> str | None:
    """The pointer of a `$ref` loop that consumes no input (every validator would recurse
    forever), or None."""
    if not isinstance(schema, dict) or not _has_local_reference(schema):
        return None
    document = Document(schema, "schema")
    done: set[str] = set()

    def visit(location: Location, trail: tuple[str, ...]) -> str | None:
        if location.pointer in trail:
            return location.pointer
        if location.pointer in done:
            return None
        for inner in _in_place(document, location):
            found = visit(inner, (*trail, location.pointer))
            if found is not None:
                return found
        done.add(location.pointer)
        return None

    for location in _all_locations(Location(schema, "", document)):
        found = visit(location, ())
        if found is not None:
            return found
    return None


def _boolean_items_with_additional(schema: Any, pointer: str) -> str | None:
    if isinstance(schema, list):
        for index, value in enumerate(schema):
            found = _boolean_items_with_additional(value, f"{pointer}/{index}")
            if found is not None:
                return found
        return None
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("items"), bool) and "additionalItems" in schema:
        return pointer
    for key, value in schema.items():
        if key not in ("enum", "const", "default", "examples"):
            found = _boolean_items_with_additional(value, f"{pointer}/{escape(key)}")
            if found is not None:
                return found
    return None


def _has_local_reference(schema: Any) -> bool:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            return True
        return any(_has_local_reference(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_local_reference(v) for v in schema)
    return False


def _all_locations(location: Location) -> list[Location]:
    """Every subschema holding a $ref (the starts of possible loops)."""
    found = []
    stack = [location]
    while stack:
        current = stack.pop()
        if not isinstance(current.schema, dict):
            continue
        if "$ref" in current.schema:
            found.append(current)
        for key, value in current.schema.items():
            if key in ("enum", "const", "default", "examples"):
                continue
            if isinstance(value, dict):
                stack.append(current.child(key))
            elif isinstance(value, list):
                stack += [current.child(key, i) for i, v in enumerate(value) if isinstance(v, dict)]
    return found


class Judge:
    """Validators of one check, built once per (document, subschema)."""

    def __init__(self) -> None:
        self._references: dict[tuple[int, str], jsonschema.protocols.Validator] = {}
        self._compiled: dict[int, CompiledSchema | None] = {}

    def sub_accepts(self, location: Location, value: Any) -> bool:
        """Whether jsonschema takes value under the subschema at location."""
        return self._reference(location.document, location.pointer, location.schema).is_valid(value)

    def accepts(self, document: Document, instance: Any) -> bool | None:
        """Whether both validators take the instance; None when they disagree or cannot run."""
        reference = self._reference(document, "", document.root).is_valid(instance)
        compiled = self._compiled_of(document)
        if compiled is None:
            return None
        return reference if compiled.accepts(instance) == reference else None

    def _reference(
        self, document: Document, pointer: str, schema: Any
    ) -> jsonschema.protocols.Validator:
        key = (id(document), pointer)
        if key not in self._references:
            if pointer:
                # evolve keeps the root's resolver: local references inside the
                # subschema ("#", "#/definitions/...") still resolve against the root.
                root = self._reference(document, "", document.root)
                self._references[key] = root.evolve(schema=schema)
            else:
                self._references[key] = jsonschema.Draft7Validator(
                    schema, format_checker=FORMAT_CHECKER
                )
        return self._references[key]

    def _compiled_of(self, document: Document) -> CompiledSchema | None:
        key = id(document)
        if key not in self._compiled:
            usable = not _non_local_reference(document.root)
            self._compiled[key] = CompiledSchema(document.root) if usable else None
        return self._compiled[key]
