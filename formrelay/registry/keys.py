"""Which subschemas an object's property or an array's item answers to.

A property's value answers to `properties[name]` and every `patternProperties`
entry whose pattern it matches (unanchored search), or to `additionalProperties`
when neither names it. An item answers to `items` (a schema), its tuple position,
or `additionalItems` past the tuple.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from formrelay.registry.refs import Location


def matches(pattern: str, key: str) -> bool:
    """Whether a patternProperties pattern matches a property name."""
    return re.search(pattern, key) is not None


def property_schemas(location: Location, key: str) -> list[Location]:
    """The subschemas key's value must satisfy under one object schema."""
    found: list[Location] = []
    properties = location.keyword("properties", {})
    if key in properties:
        found.append(location.child("properties", key))
    for pattern in location.keyword("patternProperties", {}):
        if matches(pattern, key):
            found.append(location.child("patternProperties", pattern))
    if not found and location.has("additionalProperties"):
        found.append(location.child("additionalProperties"))
    return found


def conjunction_property(locations: Iterable[Location], key: str) -> list[Location]:
    """The subschemas key's value must satisfy under every one of locations."""
    return [found for loc in locations for found in property_schemas(loc, key)]


def region_schemas(location: Location, matched: frozenset[str]) -> list[Location]:
    """The subschemas of an unnamed key that matches exactly the patterns in matched."""
    found = [
        location.child("patternProperties", p)
        for p in location.keyword("patternProperties", {})
        if p in matched
    ]
    if not found and location.has("additionalProperties"):
        found.append(location.child("additionalProperties"))
    return found


def declared_names(locations: Iterable[Location]) -> list[str]:
    """Every property name the subschemas name in properties or required, in order."""
    names: dict[str, None] = {}
    for loc in locations:
        names.update(dict.fromkeys(loc.keyword("properties", {})))
        names.update(dict.fromkeys(loc.keyword("required", [])))
    return list(names)


def required_names(locations: Iterable[Location]) -> list[str]:
    """Every name some subschema requires, in order."""
    names: dict[str, None] = {}
    for loc in locations:
        names.update(dict.fromkeys(loc.keyword("required", [])))
    return list(names)


def patterns_of(locations: Iterable[Location]) -> list[str]:
    """Every patternProperties pattern of the subschemas, in order."""
    found: dict[str, None] = {}
    for loc in locations:
        found.update(dict.fromkeys(loc.keyword("patternProperties", {})))
    return list(found)


def item_schemas(location: Location, index: int) -> list[Location]:
    """The subschemas the item at index must satisfy under one array schema."""
    if not location.has("items"):
        return []
    items = location.keyword("items")
    if not isinstance(items, list):
        return [location.child("items")]
    if index < len(items):
        return [location.child("items", index)]
    return [location.child("additionalItems")] if location.has("additionalItems") else []


def conjunction_item(locations: Iterable[Location], index: int) -> list[Location]:
    """The subschemas the item at index must satisfy under every one of locations."""
    return [found for loc in locations for found in item_schemas(loc, index)]


def tuple_length(locations: Sequence[Location]) -> int:
    """The longest tuple form of items among the subschemas (0 when none)."""
    lengths = [
        len(loc.keyword("items")) for loc in locations if isinstance(loc.keyword("items"), list)
    ]
    return max(lengths, default=0)
