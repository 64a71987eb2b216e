"""Field mapping: the body a destination receives, built from the submission.

A mapping is `{output field: source}` where a source is
- a string starting with "/": an RFC 6901 JSON pointer into the payload
  (a pointer that finds nothing leaves the field out),
- `{"const": value}`: that value,
- `{"meta": name}`: one of the submission's facts (see META_FIELDS).

`map_body` applies a mapping only: a destination with no mapping (None)
receives the connector's default body, which is not built here.
"""

from __future__ import annotations

from typing import Any

META_FIELDS = frozenset({"submission_id", "form_id", "received_at", "tenant_id"})
MAX_FIELDS = 200

_MISSING = object()


def map_body(mapping: dict[str, Any], payload: Any, meta: dict[str, str]) -> dict[str, Any]:
    """The mapped body; the mapping must have passed validate_mapping."""
    body: dict[str, Any] = {}
    for field, source in mapping.items():
        if isinstance(source, str):
            value = resolve_pointer(payload, source)
            if value is not _MISSING:
                body[field] = value
        elif "const" in source:
            body[field] = source["const"]
        elif source["meta"] in meta:
            body[field] = meta[source["meta"]]
    return body


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer, or the module's _MISSING marker."""
    if pointer == "":
        return document
    current = document
    for token in _tokens(pointer):
        if isinstance(current, dict):
            if token not in current:
                return _MISSING
            current = current[token]
        elif isinstance(current, list):
            if not _is_index(token) or int(token) >= len(current):
                return _MISSING
            current = current[int(token)]
        else:
            return _MISSING
    return current


def is_missing(value: Any) -> bool:
    """Whether resolve_pointer found nothing."""
    return value is _MISSING


def _tokens(pointer: str) -> list[str]:
    # "~1" first, then "~0": "~01" must decode to "~1", not "/".
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _is_index(token: str) -> bool:
    return token.isdigit() and token.isascii() and (token == "0" or not token.startswith("0"))


def validate_mapping(mapping: Any) -> list[str]:
    """Why a mapping is unusable (empty when it is fine); null means the default body."""
    return [
        f"{field}: {message}" if field else message for field, message in mapping_problems(mapping)
    ]


def mapping_problems(mapping: Any) -> list[tuple[str, str]]:
    """(output field, what is wrong) for each problem; field "" for the mapping as a whole."""
    if mapping is None:
        return []
    if not isinstance(mapping, dict):
        return [("", "mapping must be an object or null")]
    if not mapping:
        return [("", "mapping must name at least one field")]
    if len(mapping) > MAX_FIELDS:
        return [("", f"mapping may name at most {MAX_FIELDS} fields")]
    problems = []
    for field, source in mapping.items():
        problem = "field names must not be empty" if not field else _source_problem(source)
        if problem:
            problems.append((field, problem))
    return problems


def _source_problem(source: Any) -> str | None:
    if isinstance(source, str):
        if not source.startswith("/"):
            return "a string source must be a JSON pointer starting with '/'"
        if any(_bad_escape(token) for token in source.split("/")[1:]):
            return "'~' in a JSON pointer must be followed by 0 or 1"
        return None
    if isinstance(source, dict) and set(source) == {"const"}:
        return None
    if isinstance(source, dict) and set(source) == {"meta"}:
        if source["meta"] in META_FIELDS:
            return None
        return f"meta must be one of {sorted(META_FIELDS)}"
    return 'source must be a "/pointer", {"const": value} or {"meta": name}'


def _bad_escape(token: str) -> bool:
    index = token.find("~")
    while index != -1:
        if token[index + 1 : index + 2] not in ("0", "1"):
            return True
        index = token.find("~", index + 1)
    return False
