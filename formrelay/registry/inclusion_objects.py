"""Inclusion rules for objects: required, properties, patternProperties,
additionalProperties, property counts, dependencies and propertyNames.

Every property name either side declares is compared exactly (the subschemas its
value answers to on each side). Every other name falls in a region: the set of
patternProperties patterns it matches. Each region that is not shown empty (the
patterns as automata) is compared through the subschemas it answers to, with a
sample name from the region for the witness. So a closed model (additionalProperties
false) has no undeclared names, and a new optional property in an open model is
compared with what the old model let that name hold.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from formrelay.registry import facts, keys, patterns
from formrelay.registry.findings import Candidate, Finding, InstancePath
from formrelay.registry.instances import FRESH_KEYS, NOTHING
from formrelay.registry.refs import (
    Document,
    Location,
    UnresolvableReference,
    escape,
    possible,
    resolve,
)

if TYPE_CHECKING:
    from formrelay.registry.inclusion import Prover

_MAX_PATTERNS = 6
_STRING = Location({"type": "string"}, "", Document({"type": "string"}, "property names"))


def findings(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    """Where narrower objects may not be wider objects."""
    return [
        *_required(prover, wider, narrower, path),
        *_named(prover, wider, narrower, path),
        *_unnamed(prover, wider, narrower, path),
        *_counts(prover, wider, narrower, path),
        *_dependencies(prover, wider, narrower, path),
        *_property_names(prover, wider, narrower, path),
    ]


def _required(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    out = []
    theirs = set(keys.required_names(narrower))
    examples = prover.instances.examples(narrower, {"object"})
    for name in wider.keyword("required", []):
        if name in theirs:
            continue
        now = "is required now" if prover.comparison.wider_is_new else "was required before"
        reason = f"property {name!r} {now}: " + prover.comparison.say(f"objects without {name!r}")
        if _new_default(prover, wider, narrower, name):
            reason += " (a default does not help: validation does not fill it in)"
        values = prover.refuted(wider, narrower, examples)
        out.append(
            prover.finding(prover.pointer(wider, narrower, "required"), reason, path, values)
        )
    return out


def _new_default(prover: Prover, wider: Location, narrower: list[Location], name: str) -> bool:
    sides = [wider] if prover.comparison.wider_is_new else narrower
    for side in sides:
        for location in keys.property_schemas(side, name):
            if isinstance(location.schema, dict) and "default" in location.schema:
                return True
    return False


def _named(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    out: list[Finding] = []
    declared_by_them = {n for loc in narrower for n in loc.keyword("properties", {})}
    declared_by_wider = set(wider.keyword("properties", {}))
    for name in keys.declared_names([*narrower, wider]):
        theirs = keys.conjunction_property(narrower, name)
        if not possible(theirs):
            continue
        found = [
            f
            for mine in keys.property_schemas(wider, name)
            for f in prover.includes(mine, theirs, (*path, name))
        ]
        if found and (name in declared_by_wider) != (name in declared_by_them):
            found = [_open_model(prover, wider, narrower, name, found)]
        out += found
    return out


def _open_model(
    prover: Prover, wider: Location, narrower: list[Location], name: str, found: list[Finding]
) -> Finding:
    """One finding for a property one version declares and the other leaves to its
    additionalProperties or patternProperties."""
    declarer = (
        wider
        if name in wider.keyword("properties", {})
        else next(n for n in narrower if name in n.keyword("properties", {}))
    )
    added = (declarer is wider) == prover.comparison.wider_is_new
    verb = "added" if added else "removed"
    other = "the previous version" if added else "the new version"
    reason = f"property {name!r} {verb}; {other} holds it to its rules for other properties: "
    reason += prover.comparison.say(f"values of {name!r}")
    candidates = tuple(c for f in found for c in f.candidates)
    decided = all(f.decided for f in found)
    pointer = f"{declarer.pointer}/properties/{escape(name)}"
    if not added:  # the new version's rule for other properties is what refuses or admits it
        undeclaring = [wider] if prover.comparison.wider_is_new else narrower
        rules = keys.conjunction_property(undeclaring, name)
        if rules or undeclaring:
            pointer = rules[0].pointer if rules else undeclaring[0].pointer
    return Finding(pointer, reason + f" ({found[0].reason})", candidates, decided)


def _unnamed(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    all_patterns = keys.patterns_of([*narrower, wider])
    if len(all_patterns) > _MAX_PATTERNS:
        reason = "too many patternProperties to compare"
        return [
            prover.finding(
                prover.pointer(wider, narrower, "patternProperties"), reason, path, [], False
            )
        ]
    names = set(keys.declared_names([*narrower, wider]))
    out: list[Finding] = []
    for choice in itertools.product((False, True), repeat=len(all_patterns)):
        matched = frozenset(p for p, on in zip(all_patterns, choice, strict=True) if on)
        theirs = [s for loc in narrower for s in keys.region_schemas(loc, matched)]
        mine = keys.region_schemas(wider, matched)
        if not mine or not possible(theirs):
            continue
        reachable, key = patterns.region_key(
            tuple(all_patterns), matched, frozenset(names), FRESH_KEYS
        )
        if not reachable:
            continue
        step = key if key is not None else "<a property name the checker could not find>"
        for location in mine:
            found = prover.includes(location, theirs, (*path, step))
            out += found if key is not None else [_undecided(f) for f in found]
    return out


def _undecided(finding: Finding) -> Finding:
    return Finding(finding.pointer, finding.reason, (), False)


def _counts(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    out = []
    low = max(
        facts.max_of(narrower, "minProperties") or 0,
        len(
            [
                n
                for n in keys.required_names(narrower)
                if possible(keys.conjunction_property(narrower, n))
            ]
        ),
    )
    high = _most_properties(narrower)
    if wider.has("minProperties") and low < wider.keyword("minProperties"):
        values = prover.instances.examples(narrower, {"object"})
        out.append(
            prover.keyword_finding(
                wider,
                narrower,
                path,
                "minProperties",
                "objects with fewer properties",
                values,
            )
        )
    limit = wider.keyword("maxProperties")
    if limit is not None and (high is None or high > limit):
        values = [_object_with(prover, narrower, limit + 1)]
        out.append(
            prover.keyword_finding(
                wider,
                narrower,
                path,
                "maxProperties",
                "objects with more properties",
                values,
            )
        )
    return out


def _most_properties(narrower: list[Location]) -> int | None:
    limits = [facts.min_of(narrower, "maxProperties")]
    for location in narrower:
        if location.keyword("additionalProperties") is False and not location.keyword(
            "patternProperties"
        ):
            names = location.keyword("properties", {})
            limits.append(
                len([n for n in names if possible(keys.conjunction_property(narrower, n))])
            )
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def _object_with(prover: Prover, narrower: list[Location], count: int) -> Any:
    base = prover.instances.object_base(narrower, 0, ())
    if base is NOTHING:
        return NOTHING
    for name in [
        *keys.declared_names(narrower),
        *FRESH_KEYS,
        *(f"extra_{i}" for i in range(count)),
    ]:
        if len(base) >= count:
            break
        value = prover.instances.minimal(keys.conjunction_property(narrower, name), 1)
        if name not in base and value is not NOTHING:
            base[name] = value
    return base


def _with_property(prover: Prover, narrower: list[Location], name: str) -> Any:
    base = prover.instances.object_base(narrower, 0, (name,))
    value = prover.instances.minimal(keys.conjunction_property(narrower, name), 1)
    if base is NOTHING or value is NOTHING:
        return NOTHING
    return {**base, name: value}


def _dependencies(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    out: list[Finding] = []
    required = set(keys.required_names(narrower))
    for name, dependency in wider.keyword("dependencies", {}).items():
        if not possible(keys.conjunction_property(narrower, name)):
            continue
        pointer = f"{wider.pointer}/dependencies/{escape(name)}"
        if isinstance(dependency, list):
            theirs = set(required)
            for location in narrower:
                listed = location.keyword("dependencies", {}).get(name)
                theirs |= set(listed) if isinstance(listed, list) else set()
            missing = [n for n in dependency if n not in theirs]
            if missing:
                listed = ", ".join(map(repr, missing))
                reason = f"objects with {name!r} must now also have {listed}"
                if not prover.comparison.wider_is_new:
                    reason = f"the previous version requires {listed} with {name!r}"
                reason += ": " + prover.comparison.say("objects without them")
                values = prover.refuted(wider, narrower, [_with_property(prover, narrower, name)])
                out.append(prover.finding(pointer, reason, path, values))
            continue
        out += _schema_dependency(prover, wider, narrower, path, name, pointer)
    return out


def _schema_dependency(
    prover: Prover,
    wider: Location,
    narrower: list[Location],
    path: InstancePath,
    name: str,
    pointer: str,
) -> list[Finding]:
    theirs = list(narrower)
    for location in narrower:
        if isinstance(location.keyword("dependencies", {}).get(name), dict | bool):
            theirs.append(location.child("dependencies", name))
    found = prover.includes(wider.child("dependencies", name), theirs, path)
    if not found:
        return []
    candidates = [_with_property(prover, narrower, name)]
    for finding in found:
        for candidate in finding.candidates:
            if (
                candidate.path == path
                and isinstance(candidate.value, dict)
                and name not in candidate.value
            ):
                value = prover.instances.minimal(keys.conjunction_property(narrower, name), 1)
                candidates.append({**candidate.value, name: value})
            elif candidate.path[: len(path)] == path:
                candidates.append(candidate)
    reason = f"the dependency of {name!r} asks more: " + prover.comparison.say(
        f"objects with {name!r}"
    )
    values = [c for c in candidates if not isinstance(c, Candidate) and c is not NOTHING]
    nested = tuple(c for c in candidates if isinstance(c, Candidate))
    first = prover.finding(pointer, reason, path, prover.refuted(wider, narrower, values))
    decided = all(f.decided for f in found)
    return [Finding(first.pointer, first.reason, first.candidates + nested, decided)]


def _property_names(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    if not wider.has("propertyNames"):
        return []
    rule = wider.child("propertyNames")
    refused = [
        n
        for n in keys.declared_names(narrower)
        if possible(keys.conjunction_property(narrower, n))
        and not prover.judge.sub_accepts(rule, n)
    ]
    theirs = [loc.child("propertyNames") for loc in narrower if loc.has("propertyNames")]
    open_names = _admits_undeclared(narrower)
    found = prover.includes(rule, [_STRING, *theirs], path) if open_names else []
    if not refused and not found:
        return []
    names = refused + [c.value for f in found for c in f.candidates if isinstance(c.value, str)]
    values = [_with_property(prover, narrower, n) for n in names[:8]]
    reason = "propertyNames restricts the property names: " + prover.comparison.say(
        "objects with other names"
    )
    decided = all(f.decided for f in found)
    usable = prover.refuted(wider, narrower, [v for v in values if v is not NOTHING])
    return [
        prover.finding(
            prover.pointer(wider, narrower, "propertyNames"), reason, path, usable, decided
        )
    ]


def _admits_undeclared(narrower: list[Location]) -> bool:
    for location in narrower:
        if not location.keyword("patternProperties") and location.has("additionalProperties"):
            try:
                if resolve(location.child("additionalProperties")).schema is False:
                    return False
            except UnresolvableReference:
                continue
    return True
