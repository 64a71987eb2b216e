"""Small instances of a schema: minimal valid values and values placed at a path.

Everything built here is only a candidate: the witness search re-checks each whole
instance with both validators, so a generator that misses a constraint costs a
witness, never a wrong verdict. Bounded by depth and by the check's budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

from formrelay.domain.canonical import canonical_json
from formrelay.registry import facts, keys
from formrelay.registry.conjunctions import flatten, split
from formrelay.registry.findings import InstancePath
from formrelay.registry.formats import samples_of
from formrelay.registry.patterns import example_strings, strings_matching_all
from formrelay.registry.refs import Location, UnresolvableReference
from formrelay.registry.validators import Judge

MAX_DEPTH = 8
FRESH_KEYS = ("extra", "other", "x", "extra_1", "extra_2", "extra_3", "0", "_", "A")


class _Nothing:
    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()


def unique(values: Iterable[Any]) -> list[Any]:
    """Values without repeats (by canonical JSON, so 1 and True stay apart)."""
    seen: set[bytes] = set()
    out = []
    for value in values:
        key = canonical_json(value) + repr(type(value)).encode()
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


class Instances:
    """Builds candidate instances for the subschemas of one check."""

    def __init__(self, judge: Judge, tick: Callable[[], None]) -> None:
        self.judge = judge
        self.tick = tick

    def valid(self, locations: Sequence[Location], value: Any) -> bool:
        """Whether value satisfies every one of the subschemas (jsonschema)."""
        return all(self.judge.sub_accepts(loc, value) for loc in locations)

    def minimal(self, locations: Sequence[Location], depth: int = 0) -> Any:
        """A small value valid under every subschema, or NOTHING."""
        for value in self.candidates(locations, depth):
            if self.valid(locations, value):
                return value
        return NOTHING

    def examples(
        self, locations: Sequence[Location], kinds: Iterable[str] = facts.KINDS, depth: int = 0
    ) -> list[Any]:
        """Values of the given kinds valid under every subschema (a few of each)."""
        wanted = set(kinds)
        found = [
            v
            for v in self.candidates(locations, depth, wanted)
            if kind_of(v) in wanted and self.valid(locations, v)
        ]
        return found[:12]

    def candidates(
        self, locations: Sequence[Location], depth: int = 0, kinds: set[str] | None = None
    ) -> list[Any]:
        """Values that may satisfy the subschemas (not checked)."""
        self.tick()
        if depth > MAX_DEPTH:
            return []
        try:
            conjuncts = flatten(locations)
        except UnresolvableReference:
            return []
        if any(loc.schema is False for loc in conjuncts):
            return []
        listed = _listed(conjuncts)
        if listed is not None:
            return listed
        parts = split(conjuncts)
        if parts is not None:
            return unique(v for part in parts[:6] for v in self.candidates(part, depth, kinds))
        admitted = facts.conjunction_kinds(conjuncts) & (kinds or facts.ALL_KINDS)
        builders = self._builders()
        return unique(
            v for kind in facts.KINDS if kind in admitted for v in builders[kind](conjuncts, depth)
        )

    def _builders(self) -> dict[str, Callable[[list[Location], int], list[Any]]]:
        return {
            "null": lambda ls, d: [None],
            "boolean": lambda ls, d: [False, True],
            "integer": lambda ls, d: integers(ls),
            "fraction": lambda ls, d: fractions(ls),
            "string": lambda ls, d: strings(ls),
            "array": self._arrays,
            "object": self._objects,
        }

    def _arrays(self, locations: list[Location], depth: int) -> list[Any]:
        count = facts.max_of(locations, "minItems") or 0
        unique_items = any(loc.keyword("uniqueItems") is True for loc in locations)
        items: list[Any] = []
        for index in range(count):
            options = [
                v
                for v in self.candidates(keys.conjunction_item(locations, index), depth + 1)
                if self.valid(keys.conjunction_item(locations, index), v)
                and not (unique_items and v in items)
            ]
            if not options:
                return []
            items.append(options[0])
        return [items]

    def _objects(self, locations: list[Location], depth: int) -> list[Any]:
        base = self.object_base(locations, depth, ())
        if base is NOTHING:
            return []
        wanted = facts.max_of(locations, "minProperties") or 0
        for key in [*keys.declared_names(locations), *FRESH_KEYS]:
            if len(base) >= wanted:
                break
            value = self.minimal(keys.conjunction_property(locations, key), depth + 1)
            if key not in base and value is not NOTHING:
                base[key] = value
        return [base]

    def object_base(self, locations: Sequence[Location], depth: int, present: Sequence[str]) -> Any:
        """An object with every required property (and their dependencies), or NOTHING."""
        names = [*keys.required_names(locations), *present]
        base: dict[str, Any] = {}
        while names:
            name = names.pop(0)
            if name in base or name in present:
                continue
            value = self.minimal(keys.conjunction_property(locations, name), depth + 1)
            if value is NOTHING:
                return NOTHING
            base[name] = value
            names.extend(_dependency_names(locations, name))
        for name in present:
            names.extend(n for n in _dependency_names(locations, name) if n not in present)
        for name in names:
            value = self.minimal(keys.conjunction_property(locations, name), depth + 1)
            if name not in base and value is not NOTHING:
                base[name] = value
        return base

    def embed(
        self, locations: Sequence[Location], path: InstancePath, leaf: Any, depth: int = 0
    ) -> list[Any]:
        """Instances of the subschemas with leaf at path (a few, unchecked)."""
        self.tick()
        if not path:
            return [leaf]
        if depth > MAX_DEPTH * 2:
            return []
        try:
            conjuncts = flatten(locations)
        except UnresolvableReference:
            return []
        parts = split(conjuncts)
        if parts is not None:
            return unique(v for part in parts[:4] for v in self.embed(part, path, leaf, depth + 1))[
                :4
            ]
        step, rest = path[0], path[1:]
        if isinstance(step, str):
            inner = self.embed(keys.conjunction_property(conjuncts, step), rest, leaf, depth + 1)
            base = self.object_base(conjuncts, depth, (step,))
            base = {} if base is NOTHING else base
            return [{**base, step: value} for value in inner]
        inner = self.embed(keys.conjunction_item(conjuncts, step), rest, leaf, depth + 1)
        count = max(step + 1, facts.max_of(conjuncts, "minItems") or 0)
        out = []
        for value in inner:
            items = [
                self.minimal(keys.conjunction_item(conjuncts, i), depth + 1) for i in range(count)
            ]
            items[step] = value
            if all(item is not NOTHING for item in items):
                out.append(items)
        return out


def _listed(locations: Sequence[Location]) -> list[Any] | None:
    for loc in locations:
        if loc.has("const"):
            return [loc.keyword("const")]
        if loc.has("enum"):
            return list(loc.keyword("enum"))
    return None


def _dependency_names(locations: Sequence[Location], name: str) -> list[str]:
    found: list[str] = []
    for loc in locations:
        dependency = loc.keyword("dependencies", {}).get(name)
        if isinstance(dependency, list):
            found.extend(dependency)
        elif isinstance(dependency, dict):
            found.extend(dependency.get("required", []))
    return found


def kind_of(value: Any) -> str:
    """The kind (facts.KINDS) of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "fraction"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def integers(locations: Sequence[Location]) -> list[Any]:
    """Integers near zero and near the bounds, on the multipleOf step."""
    lower, upper = facts.lower_bound(locations), facts.upper_bound(locations)
    low = facts.smallest_integer(lower) if lower else None
    high = facts.largest_integer(upper) if upper else None
    step = facts.integer_step(locations)
    anchors = [0, 1, -1, step]
    for edge in (low, high):
        if edge is not None:
            anchors += [edge - 1, edge, edge + 1]
    out = []
    for anchor in anchors:
        for k in (math.floor(anchor / step), math.ceil(anchor / step)):
            value = k * step
            if (low is None or value >= low) and (high is None or value <= high):
                out.append(value)
    return unique(out)


def fractions(locations: Sequence[Location]) -> list[Any]:
    """Numbers with a fraction part near zero and near the bounds."""
    lower, upper = facts.lower_bound(locations), facts.upper_bound(locations)
    step = facts.fraction_lcm(facts.multiples(locations))
    anchors = [Fraction(1, 2), Fraction(-1, 2)]
    for bound in (lower, upper):
        if bound is not None:
            anchors += [bound.value, bound.value + Fraction(1, 2), bound.value - Fraction(1, 2)]
    if lower and upper:
        anchors.append((lower.value + upper.value) / 2)
    out: list[Fraction] = []
    for anchor in anchors:
        if step is None:
            out.append(anchor)
        else:
            out += [math.floor(anchor / step) * step, math.ceil(anchor / step) * step]
    return unique(float(v) for v in out if v.denominator != 1)


def strings(locations: Sequence[Location]) -> list[Any]:
    """Strings from the formats and patterns, and of the bounding lengths."""
    low = facts.max_of(locations, "minLength") or 0
    high = facts.min_of(locations, "maxLength")
    out: list[str] = []
    every = tuple(loc.keyword("pattern") for loc in locations if loc.has("pattern"))
    if len(every) > 1:
        out += strings_matching_all(every, low, high)
    for loc in locations:
        if loc.has("format"):
            out += samples_of(loc.keyword("format"))
        if loc.has("pattern"):
            out += example_strings(loc.keyword("pattern"), low, high)
    for length in (low, max(low, 1), high if high is not None else low + 8):
        out += ["a" * length, "x" * length]
    return unique(out)


def array_of_length(
    instances: Instances, locations: Sequence[Location], count: int, repeat: bool = False
) -> Any:
    """An array of count items valid at their positions (the first two equal if repeat)."""
    items: list[Any] = []
    for index in range(count):
        position = keys.conjunction_item(locations, index)
        if repeat and index == 1:
            both = [*position, *keys.conjunction_item(locations, 0)]
            if not instances.valid(both, items[0]):
                return NOTHING
            items.append(items[0])
            continue
        options = [v for v in instances.candidates(position, 1) if instances.valid(position, v)]
        fresh = [v for v in options if v not in items] or options
        if not fresh:
            return NOTHING
        items.append(fresh[0])
    return items
