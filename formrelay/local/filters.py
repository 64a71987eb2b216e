"""Lambda event filtering (FilterCriteria): the EventBridge pattern subset Lambda supports."""

from __future__ import annotations

import json
from typing import Any

_MISSING = object()


def _match_numeric(value: Any, spec: list[Any]) -> bool:
    """{"numeric": [">", 0, "<=", 5]}."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    checks = {
        "<": value.__lt__,
        "<=": value.__le__,
        "=": value.__eq__,
        ">": value.__gt__,
        ">=": value.__ge__,
    }
    return all(checks[op](bound) for op, bound in zip(spec[::2], spec[1::2], strict=True))


def _match_rule(value: Any, rule: Any) -> bool:
    """Match one present value against one element of a pattern's value list."""
    if not isinstance(rule, dict):
        return bool(value == rule)
    if "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    if "suffix" in rule:
        return isinstance(value, str) and value.endswith(rule["suffix"])
    if "anything-but" in rule:
        excluded = rule["anything-but"]
        excluded = excluded if isinstance(excluded, list) else [excluded]
        return value not in excluded
    if "numeric" in rule:
        return _match_numeric(value, rule["numeric"])
    if "equals-ignore-case" in rule:
        return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
    raise ValueError(f"unsupported filter rule {rule!r}")


def _match_values(value: Any, rules: list[Any]) -> bool:
    """A present-or-missing value against a list of alternatives."""
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if (value is not _MISSING) == bool(rule["exists"]):
                return True
            continue
        if value is _MISSING:
            continue
        candidates = value if isinstance(value, list) else [value]
        if any(_match_rule(item, rule) for item in candidates):
            return True
    return False


def matches(pattern: dict[str, Any], data: Any) -> bool:
    """True when data matches an EventBridge-style pattern (nested objects, value lists)."""
    if not isinstance(data, dict):
        return False
    for key, expected in pattern.items():
        value = data.get(key, _MISSING)
        if isinstance(expected, dict):
            if not matches(expected, value if value is not _MISSING else {}):
                return False
        elif not _match_values(value, expected):
            return False
    return True


def parse_filters(filter_criteria: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The patterns of a FilterCriteria block (JSON strings or objects)."""
    patterns = []
    for entry in (filter_criteria or {}).get("Filters", []):
        pattern = entry["Pattern"]
        patterns.append(json.loads(pattern) if isinstance(pattern, str) else pattern)
    return patterns


def passes(patterns: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Lambda semantics: no filters pass everything; otherwise any pattern must match."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)
