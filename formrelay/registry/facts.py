"""What a conjunction of subschemas says about values: kinds, bounds, steps, keywords.

Kinds split JSON numbers into integers and numbers with a fraction part (draft-07:
1.0 is an integer), so "integer -> number" is kind-set inclusion. Numeric keyword
values are read as exact fractions of their decimal text: floats lie (0.1 * 3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from formrelay.registry.refs import Location

KINDS = ("integer", "string", "boolean", "null", "fraction", "array", "object")
ALL_KINDS = frozenset(KINDS)
_TYPE_KINDS = {
    "null": {"null"},
    "boolean": {"boolean"},
    "integer": {"integer"},
    "number": {"integer", "fraction"},
    "string": {"string"},
    "array": {"array"},
    "object": {"object"},
}
KIND_NAMES = {
    "null": "null",
    "boolean": "boolean",
    "integer": "integer",
    "fraction": "number with a fraction part (such as 0.5)",
    "string": "string",
    "array": "array",
    "object": "object",
}

# Keywords that change what validates in draft-07 (the rest are annotations).
# contentEncoding and contentMediaType count: fastjsonschema checks them, jsonschema does not.
VALIDATION_KEYWORDS = frozenset(
    {
        "$ref", "type", "enum", "const",
        "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
        "maxLength", "minLength", "pattern", "format",
        "items", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains",
        "maxProperties", "minProperties", "required", "properties", "patternProperties",
        "additionalProperties", "dependencies", "propertyNames",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
        "contentEncoding", "contentMediaType",
    }
)  # fmt: skip


def kinds_of(location: Location) -> frozenset[str]:
    """The kinds of value a single subschema's `type` admits."""
    if location.schema is False:
        return frozenset()
    declared = location.keyword("type")
    if declared is None:
        return ALL_KINDS
    names = [declared] if isinstance(declared, str) else declared
    return frozenset(kind for name in names for kind in _TYPE_KINDS[name])


def conjunction_kinds(locations: Iterable[Location]) -> frozenset[str]:
    """The kinds every one of the subschemas admits."""
    locations = list(locations)
    kinds = ALL_KINDS
    for location in locations:
        kinds &= kinds_of(location)
    step = fraction_lcm(multiples(locations))
    if step is not None and step.denominator == 1:
        kinds -= {"fraction"}  # only whole multiples of a whole step
    return kinds


def is_trivial(location: Location) -> bool:
    """Whether the subschema accepts every value (true, or no validation keyword)."""
    if location.schema is True:
        return True
    if location.schema is False:
        return False
    return not any(location.has(k) for k in VALIDATION_KEYWORDS)


def exact(number: Any) -> Fraction:
    """The exact value of a JSON number as written (its shortest decimal text)."""
    if isinstance(number, float):
        return Fraction(repr(number))
    return Fraction(number)


def plain(number: Fraction) -> int | float:
    """A JSON number for a fraction: an int when whole."""
    return int(number) if number.denominator == 1 else float(number)


@dataclass(frozen=True)
class Bound:
    """One side of a numeric range: the value and whether it is excluded."""

    value: Fraction
    exclusive: bool


def lower_bound(locations: Sequence[Location]) -> Bound | None:
    """The tightest lower bound the subschemas set together."""
    best: Bound | None = None
    for location in locations:
        for keyword, exclusive in (("minimum", False), ("exclusiveMinimum", True)):
            if location.has(keyword):
                bound = Bound(exact(location.keyword(keyword)), exclusive)
                if best is None or (bound.value, bound.exclusive) > (best.value, best.exclusive):
                    best = bound
    return best


def upper_bound(locations: Sequence[Location]) -> Bound | None:
    """The tightest upper bound the subschemas set together."""
    best: Bound | None = None
    for location in locations:
        for keyword, exclusive in (("maximum", False), ("exclusiveMaximum", True)):
            if location.has(keyword):
                bound = Bound(exact(location.keyword(keyword)), exclusive)
                if best is None or (-bound.value, bound.exclusive) > (-best.value, best.exclusive):
                    best = bound
    return best


def smallest_integer(bound: Bound) -> int:
    """The least integer a lower bound lets through."""
    return math.floor(bound.value) + 1 if bound.exclusive else math.ceil(bound.value)


def largest_integer(bound: Bound) -> int:
    """The greatest integer an upper bound lets through."""
    return math.ceil(bound.value) - 1 if bound.exclusive else math.floor(bound.value)


def multiples(locations: Sequence[Location]) -> list[Fraction]:
    """Every multipleOf the subschemas set."""
    return [exact(loc.keyword("multipleOf")) for loc in locations if loc.has("multipleOf")]


def fraction_lcm(values: Sequence[Fraction]) -> Fraction | None:
    """The least common multiple of positive fractions (None for none)."""
    if not values:
        return None
    numerator, denominator = values[0].numerator, values[0].denominator
    for value in values[1:]:
        numerator = math.lcm(numerator, value.numerator)
        denominator = math.gcd(denominator, value.denominator)
    return Fraction(numerator, denominator)


def integer_step(locations: Sequence[Location]) -> int:
    """The step of the integers the subschemas' multipleOf lets through."""
    # An integer is a multiple of p/q (in lowest terms) exactly when p divides it.
    return math.lcm(1, *(m.numerator for m in multiples(locations)))


def max_of(locations: Sequence[Location], keyword: str) -> int | None:
    """The greatest value of a keyword among the subschemas (None when none sets it)."""
    values = [loc.keyword(keyword) for loc in locations if loc.has(keyword)]
    return max(values) if values else None


def min_of(locations: Sequence[Location], keyword: str) -> int | None:
    """The least value of a keyword among the subschemas (None when none sets it)."""
    values = [loc.keyword(keyword) for loc in locations if loc.has(keyword)]
    return min(values) if values else None
