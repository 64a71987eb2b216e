"""Inclusion rules for numbers and strings: bounds, multipleOf, lengths, pattern, format.

Bounds and steps are compared exactly (fractions); over integers a bound is first
rounded to the integers it lets through, so "exclusiveMinimum 0" and "minimum 1"
agree there. Pattern inclusion is decided on automata when both patterns are in the
modelled subset (see patterns); otherwise identical text is included and anything
else is left to the witness search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from formrelay.registry import facts, formats, patterns
from formrelay.registry.facts import Bound
from formrelay.registry.findings import Finding, InstancePath
from formrelay.registry.refs import Location

if TYPE_CHECKING:
    from formrelay.registry.inclusion import Prover

_HALF = Fraction(1, 2)
# Strings that tell Unicode-wide classes (\d, \w, \s) and anchors apart from ASCII ones.
_ODD_STRINGS = ["", "a", "0", "A", " ", "\u0663", "\u00e9", "\u00a0", "a\n", "-", "_"]


def number_findings(
    prover: Prover,
    wider: Location,
    narrower: list[Location],
    path: InstancePath,
    kinds: frozenset[str],
) -> list[Finding]:
    """Where the narrower numbers may fall outside the wider bounds or steps."""
    integers_only = "fraction" not in kinds
    lower, upper = facts.lower_bound(narrower), facts.upper_bound(narrower)
    findings: list[Finding] = []
    checks = (
        ("minimum", False, True, "smaller numbers"),
        ("exclusiveMinimum", True, True, "smaller numbers"),
        ("maximum", False, False, "larger numbers"),
        ("exclusiveMaximum", True, False, "larger numbers"),
    )
    for keyword, exclusive, is_lower, subject in checks:
        if not wider.has(keyword):
            continue
        bound = Bound(facts.exact(wider.keyword(keyword)), exclusive)
        implied = (
            _lower_implied(lower, bound, integers_only)
            if is_lower
            else _upper_implied(upper, bound, integers_only)
        )
        if not implied:
            findings.append(_number_finding(prover, wider, narrower, path, keyword, subject, kinds))
    if wider.has("multipleOf"):
        step = facts.exact(wider.keyword("multipleOf"))
        if not _multiple_implied(narrower, step, integers_only):
            subject = f"numbers that are not multiples of {facts.plain(step)}"
            findings.append(
                _number_finding(prover, wider, narrower, path, "multipleOf", subject, kinds)
            )
    return findings


def _number_finding(
    prover: Prover,
    wider: Location,
    narrower: list[Location],
    path: InstancePath,
    keyword: str,
    subject: str,
    kinds: frozenset[str],
) -> Finding:
    reason = prover.change(keyword, wider.keyword(keyword), _first(narrower, keyword))
    reason += ": " + prover.comparison.say(subject)
    values = prover.refuted(wider, narrower, _number_candidates(narrower, wider, kinds))
    return prover.finding(prover.pointer(wider, narrower, keyword), reason, path, values)


def _first(locations: Sequence[Location], keyword: str) -> Any:
    return next((loc.keyword(keyword) for loc in locations if loc.has(keyword)), None)


def _lower_implied(narrower: Bound | None, wider: Bound, integers_only: bool) -> bool:
    if narrower is None:
        return False
    if integers_only:
        least = facts.smallest_integer(narrower)
        return least > wider.value if wider.exclusive else least >= wider.value
    if narrower.value != wider.value:
        return narrower.value > wider.value
    return narrower.exclusive or not wider.exclusive


def _upper_implied(narrower: Bound | None, wider: Bound, integers_only: bool) -> bool:
    if narrower is None:
        return False
    if integers_only:
        greatest = facts.largest_integer(narrower)
        return greatest < wider.value if wider.exclusive else greatest <= wider.value
    if narrower.value != wider.value:
        return narrower.value < wider.value
    return narrower.exclusive or not wider.exclusive


def _multiple_implied(narrower: list[Location], step: Fraction, integers_only: bool) -> bool:
    if integers_only:
        return facts.integer_step(narrower) % step.numerator == 0
    common = facts.fraction_lcm(facts.multiples(narrower))
    return common is not None and (common / step).denominator == 1


def _number_candidates(
    narrower: list[Location], wider: Location, kinds: frozenset[str]
) -> list[Any]:
    anchors: list[Fraction] = [Fraction(0), Fraction(1), Fraction(-1), _HALF, -_HALF]
    steps = [Fraction(facts.integer_step(narrower)), *facts.multiples(narrower)]
    bounds = [facts.lower_bound(narrower), facts.upper_bound(narrower)]
    bounds += [facts.lower_bound([wider]), facts.upper_bound([wider])]
    for bound in bounds:
        if bound is None:
            continue
        anchors += [bound.value + d for d in (-1, -_HALF, 0, _HALF, 1)]
        for step in steps:
            anchors += [k * step for k in _near(bound.value / step)]
    for step in steps:
        anchors += [k * step for k in range(1, 6)]
    wanted = [a for a in anchors if ("integer" if a.denominator == 1 else "fraction") in kinds]
    return list(dict.fromkeys(facts.plain(a) for a in wanted))


def _near(ratio: Fraction) -> list[int]:
    return [math.floor(ratio) - 1, math.floor(ratio), math.ceil(ratio), math.ceil(ratio) + 1]


def string_findings(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    """Where the narrower strings may break the wider lengths, pattern or format."""
    findings: list[Finding] = []
    low = facts.max_of(narrower, "minLength") or 0
    high = facts.min_of(narrower, "maxLength")
    if wider.has("minLength") and low < wider.keyword("minLength"):
        values = _strings(narrower, low, wider.keyword("minLength") - 1)
        findings.append(
            prover.keyword_finding(wider, narrower, path, "minLength", "shorter strings", values)
        )
    if wider.has("maxLength") and (high is None or high > wider.keyword("maxLength")):
        values = _strings(narrower, wider.keyword("maxLength") + 1, high)
        findings.append(
            prover.keyword_finding(wider, narrower, path, "maxLength", "longer strings", values)
        )
    if wider.has("pattern"):
        findings += _pattern_findings(prover, wider, narrower, path, low, high)
    if wider.has("format"):
        findings += _format_findings(prover, wider, narrower, path)
    for keyword in ("contentEncoding", "contentMediaType"):
        if wider.has(keyword) and wider.keyword(keyword) != _first(narrower, keyword):
            change = prover.change(keyword, wider.keyword(keyword), _first(narrower, keyword))
            reason = f"{change}: the registry's validator checks {keyword}, the reference"
            reason += " validator does not, so no witness can be confirmed"
            findings.append(
                prover.finding(prover.pointer(wider, narrower, keyword), reason, path, [], False)
            )
    return findings


def _strings(narrower: list[Location], low: int, high: int | None) -> list[Any]:
    """Strings with a length between low and high, from the narrower patterns when it has any."""
    out: list[Any] = []
    for location in narrower:
        if location.has("pattern"):
            out += patterns.example_strings(location.keyword("pattern"), low, high)
        if location.has("format"):
            out += formats.samples_of(location.keyword("format"))
    sizes = [low, high] if high is not None else [low, low + 1]
    return out + ["a" * n for n in sizes if n is not None and n >= 0]


def _pattern_findings(
    prover: Prover,
    wider: Location,
    narrower: list[Location],
    path: InstancePath,
    low: int,
    high: int | None,
) -> list[Finding]:
    pattern = wider.keyword("pattern")
    theirs = [loc.keyword("pattern") for loc in narrower if loc.has("pattern")]
    if pattern in theirs:
        return []
    outcome = patterns.outside(theirs, low, high, pattern)
    if outcome is not None and not outcome:
        return []
    decided = outcome is not None
    guesses = [] if decided else patterns.outside(theirs, low, high, pattern, guessing=True)
    values = (outcome or guesses or []) + _strings(narrower, low, high) + _ODD_STRINGS
    subject = "strings that do not match it"
    found = prover.keyword_finding(wider, narrower, path, "pattern", subject, values, decided)
    if decided:
        return [found]
    change = prover.change("pattern", pattern, theirs[0] if theirs else None)
    unproven = f"{change}: the checker cannot compare these patterns"
    unproven += " and found no string telling them apart"
    return [replace(found, unproven=unproven)]


def _format_findings(
    prover: Prover, wider: Location, narrower: list[Location], path: InstancePath
) -> list[Finding]:
    name = wider.keyword("format")
    theirs = [loc.keyword("format") for loc in narrower if loc.has("format")]
    if name in theirs:
        return []
    values = [s for f in theirs for s in formats.samples_of(f)] + formats.other_format_samples(name)
    subject = f"strings that are not {name}"
    found = prover.keyword_finding(wider, narrower, path, "format", subject, values)
    if formats.known(name):
        return [found]
    change = prover.change("format", name, theirs[0] if theirs else None)
    unproven = f"{change}: the reference validator does not check the format {name!r},"
    unproven += " so no string refused by both validators can be shown"
    return [replace(found, decided=False, unproven=unproven)]
