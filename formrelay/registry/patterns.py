"""`pattern` languages as finite automata (greenery), for inclusion and example strings.

A pattern is searched, not matched: "ab" accepts "xaby". The registry's validator
(fastjsonschema) reads `$` as the end of the string; that is the semantics modelled.
Only a safe subset is modelled exactly: literal text, classes, groups, alternation,
quantifiers, and `^`/`$` at the very ends. `.` is rewritten to "any character but a
newline" (Python's meaning). Unicode-wide escapes (\\d, \\w, \\s) are modelled as
their ASCII part: that is an under-approximation, used only on the wider side,
where it can only make the checker more cautious. Anything else is "not modelled".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from greenery import Fsm, parse

_UNICODE_WIDE = "dDwWsS"
_UNSUPPORTED = "bBAZzG0123456789kpPuxcNU"
_OTHER_CHARS = ("~", "\u00e9")
_LONGEST = 200
# greenery's automata grow with counted repetition ({11,30}); past this many expanded
# atoms a pattern is not modelled, so one check stays within milliseconds, not seconds.
_MOST_ATOMS = 60
_LONGEST_LENGTH = 24  # length bounds beyond this are left out of the automata
_ANYTHING = parse(".*").to_fsm()
_NOTHING = _ANYTHING - _ANYTHING
_PRINTABLE = parse("[a-zA-Z0-9 _.@\\-]*").to_fsm()


def _rewrite(pattern: str, wide_allowed: bool) -> tuple[str, bool, bool] | None:
    """The pattern body for greenery, and whether it was anchored at start and end."""
    if len(pattern) > _LONGEST or _expanded_size(pattern) > _MOST_ATOMS:
        return None  # automata for long patterns or large counts cost more than a check may
    start = pattern.startswith("^")
    body = pattern[1:] if start else pattern
    end = body.endswith("$") and not body.endswith("\\$")
    body = body[:-1] if end else body
    tokens = _tokens(body, wide_allowed)
    if tokens is None:
        return None
    if (start or end) and "|" in _top_level(tokens):
        return None  # "^a|b$" anchors one alternative each
    return "".join(tokens), start, end


def _expanded_size(pattern: str) -> int:
    """Roughly how many atoms the pattern has once counted repetitions are written out."""
    size = len(pattern)
    counts = re.findall(r"\{(\d+)(?:,(\d*))?\}", pattern)
    for low, high in counts:
        size += int(high or low)
    if counts and re.search(r"\)[*+]|\)\{\d+,\}", pattern):
        size *= 4  # a repeated group before a count: the automaton doubles per count
    return size


def _tokens(body: str, wide_allowed: bool) -> list[str] | None:
    """The pattern split into escapes, classes and characters; None outside the subset."""
    tokens: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1 : index + 2]
            if escaped in _UNSUPPORTED or (escaped in _UNICODE_WIDE and not wide_allowed):
                return None
            tokens.append(body[index : index + 2])
            index += 2
        elif char == "[":
            close = _class_end(body, index)
            if close is None:
                return None
            tokens.append(_plain_dashes(body[index : close + 1]))
            index = close + 1
        elif char in "^$" or (body.startswith("(?", index) and not body.startswith("(?:", index)):
            return None
        else:
            tokens.append("[^\\n]" if char == "." else char)
            index += 1
    return tokens


def _plain_dashes(klass: str) -> str:
    """A class with a literal "-" first or last written as "\\-" (greenery needs it so)."""
    start = 2 if klass.startswith("[^") else 1
    inner = klass[start:-1]
    if inner.endswith("-") and not inner.endswith("\\-"):
        inner = inner[:-1] + "\\-"
    if inner.startswith("-"):
        inner = "\\" + inner
    return klass[:start] + inner + "]"


def _class_end(body: str, start: int) -> int | None:
    index = start + 1
    if body[index : index + 1] == "^":
        index += 1
    if body[index : index + 1] == "]":
        index += 1
    while index < len(body):
        if body[index] == "\\":
            if body[index + 1 : index + 2] in _UNSUPPORTED + _UNICODE_WIDE:
                return None
            index += 2
            continue
        if body[index] == "]":
            return index
        index += 1
    return None


def _top_level(tokens: list[str]) -> list[str]:
    depth = 0
    out = []
    for token in tokens:
        depth += token == "("
        depth -= token == ")"
        if depth == 0:
            out.append(token)
    return out


@lru_cache(maxsize=256)
def language(pattern: str, wide_allowed: bool = False) -> Fsm | None:
    """The strings the pattern accepts (searched), or None when not modelled exactly."""
    rewritten = _rewrite(pattern, wide_allowed)
    if rewritten is None:
        return None
    body, start, end = rewritten
    try:
        core = parse(body).to_fsm()
        anything = _ANYTHING
    except Exception:  # greenery raises its own NoMatch and assorted errors on what it lacks
        return None
    parts = [core]
    if not start:
        parts.insert(0, anything)
    if not end:
        parts.append(anything)
    return Fsm.concatenate(*parts) if len(parts) > 1 else core


def strings_of(machine: Fsm, limit: int = 6) -> list[str]:
    """A few of the shortest strings a language holds."""
    out: list[str] = []
    for text in machine.strings(_OTHER_CHARS):
        out.append(text)
        if len(out) >= limit:
            break
    return out


def length_language(low: int, high: int | None) -> Fsm:
    """Strings of a length between low and high (any length past _LONGEST_LENGTH bounds)."""
    if low > _LONGEST_LENGTH or (high or 0) > _LONGEST_LENGTH:
        return _ANYTHING  # an over-approximation: used for the narrower side and examples only
    if high is not None and high < low:
        return _NOTHING
    upper = "" if high is None else str(high)
    return parse(f".{{{low},{upper}}}").to_fsm()


@lru_cache(maxsize=512)
def example_strings(pattern: str, low: int = 0, high: int | None = None) -> list[Any]:
    """Strings the pattern accepts, preferring lengths between low and high."""
    machine = language(pattern, wide_allowed=True)
    if machine is None:
        return []
    try:
        bounded = machine & length_language(low, high) if low or high is not None else machine
        printable = bounded & _PRINTABLE
        return strings_of(printable, 3) or strings_of(bounded, 3) or strings_of(machine, 3)
    except Exception:  # greenery can fail deep inside on odd classes; examples are optional
        return []


@lru_cache(maxsize=256)
def strings_matching_all(every: tuple[str, ...], low: int, high: int | None) -> list[str]:
    """A few strings every pattern accepts, of a length between low and high."""
    machine = length_language(low, high)
    for pattern in every:
        language_of = language(pattern, wide_allowed=True)
        if language_of is None:
            return []
        machine = machine & language_of
    try:
        return strings_of(machine & _PRINTABLE, 3) or strings_of(machine, 3)
    except Exception:  # examples are optional; greenery may fail on odd classes
        return []


def outside(narrower: list[str], low: int, high: int | None, wider: str) -> list[str] | None:
    """Strings every narrower pattern and the lengths accept but wider does not ([]: none).

    None when a pattern is not modelled (the narrower side must be exact; the wider
    side may be an under-approximation).
    """
    machine = length_language(low, high)
    for pattern in narrower:
        language_of = language(pattern)
        if language_of is None:
            return None
        machine = machine & language_of
    wider_language = language(wider, wide_allowed=True)
    if wider_language is None:
        return None
    try:
        difference = machine - wider_language
        if difference.empty():
            return []
        return strings_of(difference & _PRINTABLE, 3) or strings_of(difference, 3)
    except Exception:  # a failure inside greenery leaves the patterns uncompared
        return None


@lru_cache(maxsize=512)
def region_key(
    all_patterns: tuple[str, ...],
    matched: frozenset[str],
    names: frozenset[str],
    fresh: tuple[str, ...],
) -> tuple[bool, str | None]:
    """A property name matching exactly the patterns in matched and none of names.

    (possible, key): possible is False only when the region is shown empty; key is
    None when no name was found (the region may still hold some).
    """

    def profile(key: str) -> bool:
        return key not in names and all(
            (re.search(p, key) is not None) == (p in matched) for p in all_patterns
        )

    cheap = [*fresh, *(lit + suffix for lit in map(_literal, matched) for suffix in ("", *fresh))]
    key = next((g for g in cheap if profile(g)), None)
    if key is not None:
        return True, key
    machine = _region(all_patterns, matched, names)
    guesses = [s for p in matched for s in example_strings(p, 1, 12)]
    if machine is not None:
        try:
            if machine.empty():
                return False, None
            guesses = strings_of(machine & _PRINTABLE, 8) + strings_of(machine, 8) + guesses
        except Exception:  # greenery failure: fall back on guesses
            pass
    return True, next((g for g in guesses if profile(g)), None)


def _region(
    all_patterns: tuple[str, ...], matched: frozenset[str], names: frozenset[str]
) -> Fsm | None:
    machine = _ANYTHING
    for pattern in all_patterns:
        language_of = language(pattern)
        if language_of is None:
            return None
        machine = machine & language_of if pattern in matched else machine - language_of
    for name in names:
        # Declared names are compared one by one: the region is the names left over.
        if re.fullmatch(r"[A-Za-z0-9_]{1,40}", name) and machine.accepts(name):
            machine = machine - parse(name).to_fsm()
    return machine


def _literal(pattern: str) -> str:
    """The literal text of a pattern like "^x_" (empty when it is not plain text)."""
    text = pattern.removeprefix("^").removesuffix("$")
    return text if re.fullmatch(r"[A-Za-z0-9_\-]*", text) else ""
