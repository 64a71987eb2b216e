"""A value's schema as a conjunction of subschemas: `$ref` followed, `allOf` flattened.

A choice (`anyOf`, `oneOf`) in one conjunct splits the conjunction into one
conjunction per alternative; a value of the whole satisfies one of them
(for `oneOf` that over-approximates, which is the sound side for a narrower schema).
"""

from __future__ import annotations

from collections.abc import Iterable

from formrelay.registry.refs import Location, resolve

CHOICES = ("anyOf", "oneOf")


def flatten(locations: Iterable[Location]) -> list[Location]:
    """The conjuncts with references resolved and allOf members pulled up (may raise)."""
    out: list[Location] = []
    pending = list(locations)
    while pending:
        location = resolve(pending.pop(0))
        if location.has("allOf"):
            members = location.keyword("allOf")
            pending.extend(location.child("allOf", i) for i in range(len(members)))
            location = location.spending("allOf")
        if not (location.schema is True or location in out):
            out.append(location)
    return out


def split(locations: list[Location]) -> list[list[Location]] | None:
    """One conjunction per alternative of the first choice in locations; None without one."""
    for index, location in enumerate(locations):
        for keyword in CHOICES:
            if location.has(keyword):
                rest = [*locations[:index], location.spending(keyword), *locations[index + 1 :]]
                branches = location.keyword(keyword)
                return [[*rest, location.child(keyword, i)] for i in range(len(branches))]
    return None
