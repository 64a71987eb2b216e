"""Parsing request bodies as JSON, strictly: the shapes an attacker sends are refused.

The standard json module accepts duplicate keys (last wins), NaN and
Infinity, lone surrogates in escapes, and any depth; none of those may reach
a schema or the event store.
"""

from __future__ import annotations

import json
import re
from typing import Any

from formrelay.domain.errors import FormrelayError

MAX_DEPTH = 32
MAX_KEYS = 1000
MAX_NUMBER_DIGITS = 100


class MalformedJsonError(FormrelayError):
    """The body is not JSON formrelay accepts (syntax, duplicates, depth, size)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedJsonError(f"duplicate object key {key!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise MalformedJsonError(f"{name} is not JSON")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise MalformedJsonError("number has too many digits")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise MalformedJsonError("number has too many digits")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise MalformedJsonError("number is out of range")
    return value


def _check_shape(value: Any, max_keys: int) -> None:
    """Depth at most MAX_DEPTH, keys at most max_keys, strings valid UTF-8 (no lone surrogates)."""
    keys = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list) and depth > MAX_DEPTH:
            raise MalformedJsonError(f"nesting deeper than {MAX_DEPTH}")
        if isinstance(node, dict):
            keys += len(node)
            if keys > max_keys:
                raise MalformedJsonError(f"more than {max_keys} keys")
            for key, child in node.items():
                _check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str):
            _check_text(node)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedJsonError("string holds a lone surrogate") from exc


def parse_body(raw: bytes, *, max_keys: int = MAX_KEYS) -> Any:
    """The JSON value of a raw body, or MalformedJsonError saying what is wrong.

    max_keys bounds the keys of all objects together (a form's schema may need more
    than a submission: its size limit bounds it too).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJsonError("body is not valid UTF-8") from exc
    # Depth is checked before parsing too: the parser recurses per nesting level.
    if _too_deep(text):
        raise MalformedJsonError(f"nesting deeper than {MAX_DEPTH}")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
        )
    except json.JSONDecodeError as exc:
        raise MalformedJsonError(f"body is not JSON: {exc.msg} at line {exc.lineno}") from exc
    except RecursionError as exc:
        raise MalformedJsonError("nesting too deep") from exc
    _check_shape(value, max_keys)
    return value


# A JSON string (escapes included) and a bracket: both matched by the re module in C.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH.

    Most bodies hold too few brackets to nest that deep at all; the rest are
    scanned bracket by bracket after the strings are cut out. An unterminated
    string leaves its brackets in: the body is malformed either way.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False
