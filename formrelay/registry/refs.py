"""Schema locations and local `$ref` resolution: a subschema, where it is, and in which document.

Only local references are followed ("#", "#/definitions/...", "#/properties/...", any
JSON pointer into the same document); a reference to another document cannot be
resolved here and raises UnresolvableReference (the checker then reports it undecided).
In draft-07 a `$ref` replaces its siblings, so a resolved location is the target alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote


class UnresolvableReference(Exception):
    """A `$ref` that does not point into its own document."""


@dataclass(frozen=True, eq=False)
class Document:
    """One whole schema and the name a reason calls it by ("previous", "new")."""

    root: Any
    name: str
    nested_ids: bool = field(init=False)

    def __post_init__(self) -> None:
        # A "$id" below the root moves the base a local reference resolves against.
        below = self.root.values() if isinstance(self.root, dict) else []
        object.__setattr__(self, "nested_ids", any(_has_id(v) for v in below))


@dataclass(frozen=True)
class Location:
    """A subschema, its JSON pointer in its document, and keywords already accounted for."""

    schema: Any
    pointer: str
    document: Document = field(compare=False)
    spent: frozenset[str] = frozenset()

    def keyword(self, name: str, default: Any = None) -> Any:
        """The keyword's value, or default when absent, spent, or the schema is boolean."""
        if not isinstance(self.schema, dict) or name in self.spent:
            return default
        return self.schema.get(name, default)

    def has(self, name: str) -> bool:
        """Whether the keyword is present (and not spent)."""
        return isinstance(self.schema, dict) and name in self.schema and name not in self.spent

    def child(self, *steps: str | int) -> Location:
        """The subschema at steps below this one."""
        schema = self.schema
        pointer = self.pointer
        for step in steps:
            schema = schema[step]
            pointer += "/" + escape(str(step))
        return Location(schema, pointer, self.document)

    def spending(self, *names: str) -> Location:
        """This location with keywords marked as accounted for elsewhere."""
        return Location(self.schema, self.pointer, self.document, self.spent | set(names))


def _has_id(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "$id" in schema or any(_has_id(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_id(v) for v in schema)
    return False


def escape(step: str) -> str:
    """One JSON pointer reference token."""
    return step.replace("~", "~0").replace("/", "~1")


def root_of(document: Document) -> Location:
    """The location of a document's root."""
    return Location(document.root, "", document)


def at_pointer(document: Document, pointer: str) -> Location:
    """The location a JSON pointer names in document."""
    if pointer and not pointer.startswith("/"):
        raise UnresolvableReference(f"#{pointer} names an anchor, not a JSON pointer")
    schema = document.root
    for token in pointer.split("/")[1:] if pointer else []:
        step = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(schema, list) and step.isdigit() and int(step) < len(schema):
            schema = schema[int(step)]
        elif isinstance(schema, dict) and step in schema:
            schema = schema[step]
        else:
            raise UnresolvableReference(f"#{pointer} does not exist")
    return Location(schema, pointer, document)


def resolve(location: Location) -> Location:
    """Follow `$ref` chains to a location with no reference (draft-07: siblings ignored)."""
    seen: set[str] = set()
    while location.has("$ref"):
        ref = location.keyword("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise UnresolvableReference(f"$ref {ref!r} is not a reference into this schema")
        if location.document.nested_ids:
            raise UnresolvableReference(f"$ref {ref!r} is read against a nested $id")
        if ref in seen:
            raise UnresolvableReference(f"$ref {ref!r} refers to itself")
        seen.add(ref)
        location = at_pointer(location.document, ref[1:])
        if location.pointer and not isinstance(location.schema, dict | bool):
            raise UnresolvableReference(f"$ref {ref!r} does not name a schema")
    return location


def contains_reference(schema: Any) -> bool:
    """Whether a `$ref` occurs anywhere in schema."""
    if isinstance(schema, dict):
        return "$ref" in schema or any(contains_reference(v) for v in schema.values())
    if isinstance(schema, list):
        return any(contains_reference(v) for v in schema)
    return False


def possible(subschemas: Sequence[Location]) -> bool:
    """Whether a value answering to every one of these subschemas can exist at all
    (False only when one of them resolves to the schema `false`)."""
    for location in subschemas:
        try:
            if resolve(location).schema is False:
                return False
        except UnresolvableReference:
            continue
    return True
