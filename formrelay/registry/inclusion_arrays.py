"""Inclusion rules for arrays: items (schema or tuple with additionalItems), counts,
uniqueItems and contains.

Items are compared position by position up to the longest tuple; the position past
every tuple stands for all later ones (each side uses its rest schema there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from formrelay.registry import facts, keys
from formrelay.registry.findings import Finding, InstancePath
from formrelay.registry.instances import NOTHING, array_of_length
from formrelay.registry.refs import Location, possible

if TYPE_CHECKING:
    from formrelay.registry.inclusion import Prover


def findings(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    """Where narrower arrays may not be wider arrays."""
    return [
        *_items(prover, wider, narrower, path),
        *_counts(prover, wider, narrower, path),
        *_uniqueness(prover, wider, narrower, path),
        *_contains(prover, wider, narrower, path),
    ]


def longest(narrower: list[Location]) -> int | None:
    """The most items a narrower array can have (None: no limit)."""
    limits = [facts.min_of(narrower, "maxItems")]
    for location in narrower:
        if (
            isinstance(location.keyword("items"), list)
            and location.keyword("additionalItems") is False
        ):
            limits.append(len(location.keyword("items")))
    for index in range(keys.tuple_length(narrower) + 1):
        if not possible(keys.conjunction_item(narrower, index)):
            limits.append(index)
            break
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def _items(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    if not wider.has("items"):
        return []
    positions = max(keys.tuple_length(narrower), keys.tuple_length([wider])) + 1
    limit = longest(narrower)
    out: list[Finding] = []
    for index in range(positions if limit is None else min(positions, limit)):
        theirs = keys.conjunction_item(narrower, index)
        for mine in keys.item_schemas(wider, index):
            out += prover.includes(mine, theirs, (*path, index))
        if any(location.schema is False for location in theirs):
            break  # no narrower array reaches past this position
    return out


def _counts(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    out: list[Finding] = []
    low = facts.max_of(narrower, "minItems") or 0
    high = longest(narrower)
    if wider.has("minItems") and low < wider.keyword("minItems"):
        values = [
            array_of_length(prover.instances, narrower, n)
            for n in range(low, wider.keyword("minItems"))
        ][:3]
        out.append(
            prover.keyword_finding(wider, narrower, path, "minItems", "shorter arrays", values)
        )
    if wider.has("maxItems") and (high is None or high > wider.keyword("maxItems")):
        values = [array_of_length(prover.instances, narrower, wider.keyword("maxItems") + 1)]
        out.append(
            prover.keyword_finding(wider, narrower, path, "maxItems", "longer arrays", values)
        )
    return out


def _uniqueness(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    if wider.keyword("uniqueItems") is not True:
        return []
    if any(n.keyword("uniqueItems") is True for n in narrower):
        return []
    high = longest(narrower)
    if high is not None and high <= 1:
        return []
    low = max(2, facts.max_of(narrower, "minItems") or 0)
    values = [array_of_length(prover.instances, narrower, low, repeat=True)]
    reason = "uniqueItems added: " + prover.comparison.say("arrays with repeated items")
    usable = prover.refuted(wider, narrower, [v for v in values if v is not NOTHING])
    return [prover.finding(prover.pointer(wider, narrower, "uniqueItems"), reason, path, usable)]


def _contains(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    if not wider.has("contains"):
        return []
    mine = wider.child("contains")
    for location in narrower:
        if location.has("contains") and prover.holds(
            mine, [location.child("contains")], (*path, 0)
        ):
            return []
    reason = "contains requires an item the other version does not: "
    reason += prover.comparison.say("arrays without such an item")
    values = prover.refuted(wider, narrower, [*prover.instances.examples(narrower, {"array"}), []])
    return [prover.finding(prover.pointer(wider, narrower, "contains"), reason, path, values)]
