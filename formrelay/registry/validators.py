"""The two validators every witness must convince, and the schema validity gate.

jsonschema (Draft7Validator with the registry's FormatChecker) is the reference;
fastjsonschema through CompiledSchema is what the registry really runs. A witness
counts only when both agree on it. Subschemas are judged by jsonschema alone, with
the whole document around them so that local `$ref`s still resolve.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import fastjsonschema
import jsonschema

from formrelay.registry.errors import InvalidSchemaError
from formrelay.registry.refs import Document, Location
from formrelay.registry.schemas import CompiledSchema

FORMAT_CHECKER = jsonschema.Draft7Validator.FORMAT_CHECKER


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
    if _non_local_reference(schema):
        return  # compiling would fetch the other document; such parts are left undecided
    try:
        CompiledSchema(schema)
    except (fastjsonschema.JsonSchemaDefinitionException, re.error, ValueError, TypeError) as exc:
        raise InvalidSchemaError(f"the {name} schema does not compile: {exc}") from exc


class Judge:
    """Validators of one check, built once per (document, subschema)."""

    def __init__(self) -> None:
        self._references: dict[tuple[int, str], jsonschema.protocols.Validator] = {}
        self._compiled: dict[int, CompiledSchema | None] = {}

    def sub_accepts(self, location: Location, value: Any) -> bool:
        """Whether jsonschema takes value under the subschema at location."""
        return self._reference(location.document, location.pointer).is_valid(value)

    def accepts(self, document: Document, instance: Any) -> bool | None:
        """Whether both validators take the instance; None when they disagree or cannot run."""
        reference = self._reference(document, "").is_valid(instance)
        compiled = self._compiled_of(document)
        if compiled is None:
            return None
        return reference if compiled.accepts(instance) == reference else None

    def _reference(self, document: Document, pointer: str) -> jsonschema.protocols.Validator:
        key = (id(document), pointer)
        if key not in self._references:
            schema: Any = document.root
            if pointer:
                # draft-07 ignores a $ref's siblings: the root with $ref is the subschema,
                # and every local reference inside it still resolves against the root.
                schema = {**document.root, "$ref": "#" + quote(pointer, safe="/~!$&'()*+,;=:@")}
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
