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
from formrelay.registry.refs import Location, UnresolvableReference, resolve

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
    tried: list[Finding] = []
    for index in range(len(wider.keyword("anyOf"))):
        found = prover.includes(wider.child("anyOf", index), narrower, path)
        if not found:
            return []
        tried += found
    reason = "no single anyOf alternative accepts every value of the other version: "
    reason += prover.comparison.say("values no alternative takes")
    return [_unsettled(prover, wider, narrower, path, "anyOf", reason, tried)]


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
    reason = "oneOf: the checker cannot show each value matches exactly one alternative; "
    reason += prover.comparison.say("values matching none or several")
    return [_unsettled(prover, wider, narrower, path, "oneOf", reason, tried)]


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
    reason = "not: the checker cannot show the other version's values avoid the negated schema; "
    reason += prover.comparison.say("values the negated schema matches")
    values = [
        v for v in prover.instances.examples(narrower) if prover.judge.sub_accepts(negated, v)
    ]
    return [_unsettled(prover, wider, narrower, path, "not", reason, [], values)]


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
    reason = "if/then/else: the checker cannot show the other version's values meet it; "
    reason += prover.comparison.say("values failing then or else")
    return [_unsettled(prover, wider, narrower, path, "if", reason, [])]


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
    reason: str,
    tried: list[Finding],
    values: list[object] | None = None,
) -> Finding:
    pool = values if values is not None else prover.instances.examples(narrower)
    found = tuple(Candidate(path, v) for v in prover.refuted(wider, narrower, pool))
    nested = tuple(c for f in tried for c in f.candidates)
    return Finding(prover.pointer(wider, narrower, keyword), reason, found + nested, False)


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
