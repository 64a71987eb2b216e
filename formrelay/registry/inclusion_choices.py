"""Inclusion rules for the wider side's combinators: allOf, anyOf, oneOf, not, if/then/else.

allOf is exact (included in each member). The others are only sufficient:
anyOf: the narrower side fits one alternative (after splitting its own choices);
oneOf: the same alternatives (pairwise equivalent), or one alternative fits and the
narrower side is disjoint from every other; not: disjoint from the negated schema, or
the narrower side negates a schema that includes it; if/then/else: one of the
obvious cases. Anything else is a finding the witness search settles or leaves undecided.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from formrelay.registry import facts, keys
from formrelay.registry.findings import Candidate, Finding, InstancePath
from formrelay.registry.refs import Document, Location, UnresolvableReference, resolve

if TYPE_CHECKING:
    from formrelay.registry.inclusion import Prover

_DISJOINT_DEPTH = 4


def findings(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    """Where the narrower side may not satisfy the wider side's combinators."""
    out: list[Finding] = []
    for index in range(len(wider.keyword("allOf", []))):
        out += prover.includes(wider.child("allOf", index), narrower, path)
    if wider.has("anyOf"):
        out += _any_of(prover, wider, narrower, path)
    if wider.has("oneOf"):
        out += _one_of(prover, wider, narrower, path)
    if wider.has("not"):
        out += _not(prover, wider, narrower, path)
    if wider.has("if"):
        out += _if_then_else(prover, wider, narrower, path)
    return out


def _any_of(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    branches = [wider.child("anyOf", i) for i in range(len(wider.keyword("anyOf")))]
    tried: list[Finding] = []
    for branch in branches:
        found = prover.includes(branch, narrower, path)
        if not found:
            return []
        tried += found
    if _fits_by_type(prover, branches, narrower, path):
        return []
    reason = "anyOf: " + prover.comparison.say("values no alternative takes")
    unproven = (
        "anyOf: the checker cannot show that every value of the other version fits an alternative"
    )
    return [_unsettled(prover, wider, narrower, path, "anyOf", (reason, unproven), tried)]


def _fits_by_type(
    prover: Prover, branches: list[Location], narrower: list[Location], path: InstancePath
) -> bool:
    """Whether the narrower values of each JSON type fit some alternative."""
    names = type_names(facts.conjunction_kinds(narrower))
    if len(names) < 2:
        return False
    return all(
        any(prover.holds(b, [*narrower, _typed(name)], path) for b in branches) for name in names
    )


def type_names(kinds: frozenset[str]) -> list[str]:
    """The draft-07 type names that cover these kinds (number for any fraction)."""
    names: list[str] = [k for k in ("null", "boolean", "string", "array", "object") if k in kinds]
    if "fraction" in kinds:
        names.append("number")
    elif "integer" in kinds:
        names.append("integer")
    return names


_TYPED: dict[str, Location] = {}


def _typed(name: str) -> Location:
    if name not in _TYPED:
        schema = {"type": name}
        _TYPED[name] = Location(schema, "", Document(schema, f"values of type {name}"))
    return _TYPED[name]


def _one_of(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    branches = [wider.child("oneOf", i) for i in range(len(wider.keyword("oneOf")))]
    if any(_same_choices(prover, branches, n, path) for n in narrower if n.has("oneOf")):
        return []
    tried: list[Finding] = []
    for index, branch in enumerate(branches):
        found = prover.includes(branch, narrower, path)
        others = branches[:index] + branches[index + 1 :]
        if not found and all(disjoint(prover, narrower, [o]) for o in others):
            return []
        tried += found
    reason = "oneOf: " + prover.comparison.say("values matching no alternative or several")
    unproven = "oneOf: the checker cannot show that each value of the other version"
    unproven += " matches exactly one alternative"
    return [_unsettled(prover, wider, narrower, path, "oneOf", (reason, unproven), tried)]


def _same_choices(
    prover: Prover, branches: list[Location], theirs: Location, path: InstancePath
) -> bool:
    other = [theirs.child("oneOf", i) for i in range(len(theirs.keyword("oneOf")))]
    if len(other) != len(branches):
        return False
    return all(
        prover.equivalent(mine, their, path) for mine, their in zip(branches, other, strict=True)
    )


def _not(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    negated = wider.child("not")
    if disjoint(prover, narrower, [negated]):
        return []
    for location in narrower:
        if location.has("not") and prover.holds(location.child("not"), [negated], path):
            return []
    reason = "not: " + prover.comparison.say("values the negated schema matches")
    unproven = (
        "not: the checker cannot show that the other version's values avoid the negated schema"
    )
    values = prover.instances.examples([*narrower, negated])
    return [_unsettled(prover, wider, narrower, path, "not", (reason, unproven), [], values)]


def _if_then_else(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    condition = wider.child("if")
    then = wider.child("then") if wider.has("then") else None
    otherwise = wider.child("else") if wider.has("else") else None

    def fits(branch: Location | None) -> bool:
        return branch is None or prover.holds(branch, narrower, path)

    if any(_same_condition(prover, wider, n, path) for n in narrower if n.has("if")):
        return []
    if fits(then) and fits(otherwise):
        return []
    if prover.holds(condition, narrower, path) and fits(then):
        return []
    if disjoint(prover, narrower, [condition]) and fits(otherwise):
        return []
    reason = "if/then/else: " + prover.comparison.say("values failing then or else")
    unproven = "if/then/else: the checker cannot show that the other version's values meet it"
    values = prover.instances.examples([*narrower, condition]) + prover.instances.examples(narrower)
    return [_unsettled(prover, wider, narrower, path, "if", (reason, unproven), [], values)]


def _same_condition(prover: Prover, wider: Location, theirs: Location, path: InstancePath) -> bool:
    for keyword in ("if", "then", "else"):
        if wider.has(keyword) != theirs.has(keyword):
            return False
        if wider.has(keyword) and not prover.equivalent(
            wider.child(keyword), theirs.child(keyword), path
        ):
            return False
    return True


def _unsettled(
    prover: Prover,
    wider: Location,
    narrower: list[Location],
    path: InstancePath,
    keyword: str,
    reasons: tuple[str, str],
    tried: list[Finding],
    values: list[object] | None = None,
) -> Finding:
    pool = values if values is not None else prover.instances.examples(narrower)
    found = tuple(Candidate(path, v) for v in prover.refuted(wider, narrower, pool))
    nested = tuple(c for f in tried for c in f.candidates)
    pointer = prover.pointer(wider, narrower, keyword)
    return Finding(pointer, reasons[0], found + nested, False, reasons[1])


def disjoint(prover: Prover, one: list[Location], other: list[Location], depth: int = 0) -> bool:
    """Whether no value satisfies both conjunctions (sufficient rules only)."""
    try:
        one = [resolve(loc) for loc in one]
        other = [resolve(loc) for loc in other]
    except UnresolvableReference:
        return False
    if any(loc.schema is False for loc in one + other):
        return True
    if not (facts.conjunction_kinds(one) & facts.conjunction_kinds(other)):
        return True
    for side, rest in ((one, other), (other, one)):
        listed = _listed_values(side)
        if listed is not None:
            both = side + rest
            return not any(prover.instances.valid(both, v) for v in listed)
    if depth >= _DISJOINT_DEPTH or facts.conjunction_kinds(one) & facts.conjunction_kinds(
        other
    ) != {"object"}:
        return False
    for name in keys.required_names(one + other):
        mine = keys.conjunction_property(one, name)
        theirs = keys.conjunction_property(other, name)
        if mine and theirs and disjoint(prover, mine, theirs, depth + 1):
            return True
    return False


def _listed_values(locations: list[Location]) -> list[object] | None:
    for location in locations:
        if location.has("const"):
            return [location.keyword("const")]
        if location.has("enum"):
            return list(location.keyword("enum"))
    return None
