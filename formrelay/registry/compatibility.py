"""Schema compatibility: does a new JSON Schema (draft-07) version accept what the old did?

BACKWARD: every instance valid under the old schema is valid under the new one (a
reader on the new schema accepts what was written before). FORWARD: the reverse.
FULL: both. *_TRANSITIVE: against every earlier version, not only the latest.
NONE: no check.

A verdict lists every incompatibility found, each with the JSON pointer it is at,
a plain reason and, where a bounded search found one, a witness: an instance one
schema accepts and the other rejects, re-checked with a validator before it is
reported. What the checker cannot decide is listed as undecided, never passed.

- Semantics are instance sets (draft-07): BACKWARD(old, new) holds when every instance
  of old is an instance of new (inclusion.Prover.includes(new, old)).
- Pointers are JSON pointers into the SCHEMA, at the keyword that decides
  ("/properties/email/maxLength", "/required"): in the new schema where it has that
  keyword, else in the previous one. The root is "".
- Witnesses are whole instances of the root schema, confirmed by jsonschema
  (Draft7Validator with its FORMAT_CHECKER) and by fastjsonschema (CompiledSchema, the
  registry's validator): accepted by one version and refused by the other in the
  incompatibility's direction. Every incompatibility has a witness; a place where a
  rule found a difference but no confirmed witness is reported undecided.
- against_version is the 1-based index into `previous` of the version compared with;
  None when `previous` holds a single version.
- A budget (time and steps, DEFAULT_BUDGET_SECONDS for the whole check) bounds the
  work; what it cuts short is undecided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from formrelay.registry.findings import BudgetExceeded
from formrelay.registry.inclusion import Budget, Comparison, Prover
from formrelay.registry.refs import Document, root_of
from formrelay.registry.validators import Judge, ensure_valid
from formrelay.registry.verdicts import NO_WITNESS, Incompatibility, Mode, Undecided, Verdict
from formrelay.registry.witnesses import MISSING, witness

__all__ = [
    "NO_WITNESS",
    "Incompatibility",
    "Mode",
    "Undecided",
    "Verdict",
    "check",
    "diff",
]

DEFAULT_BUDGET_SECONDS = 2.0


def check(
    previous: Sequence[Mapping[str, Any]],
    new: Mapping[str, Any],
    mode: Mode | str,
    *,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> Verdict:
    """The verdict on `new` as the next version after `previous` (oldest first) under mode.

    Non-transitive modes compare with the latest previous version only; with no
    previous version every schema is compatible. Raises InvalidSchemaError when a
    schema is not a valid draft-07 schema. The whole check stops after budget_seconds;
    what it could not finish is undecided.
    """
    mode = Mode(mode)
    ensure_valid(new, "new")
    for index, schema in enumerate(previous, start=1):
        ensure_valid(schema, f"previous (version {index})")
    if mode is Mode.NONE or not previous:
        return Verdict(mode)
    numbered = list(enumerate(previous, start=1))
    if not mode.value.endswith("_TRANSITIVE"):
        numbered = numbered[-1:]
    judge = Judge()
    budget = Budget(seconds=budget_seconds)
    budget.start()
    new_document = Document(new, "new")
    incompatibilities: list[Incompatibility] = []
    undecided: list[Undecided] = []
    for index, old in numbered:
        against = index if len(previous) > 1 else None
        old_document = Document(old, "previous")
        for direction in _DIRECTIONS[mode]:
            found, open_ = _compare(old_document, new_document, direction, against, judge, budget)
            incompatibilities += found
            undecided += open_
    return Verdict(mode, _distinct(incompatibilities), tuple(dict.fromkeys(undecided)))


def _distinct(incompatibilities: list[Incompatibility]) -> tuple[Incompatibility, ...]:
    """Each (pointer, reason, direction, version) once: the first witness found for it."""
    seen: dict[tuple[str, str, str, int | None], Incompatibility] = {}
    for item in incompatibilities:
        seen.setdefault((item.pointer, item.reason, item.direction, item.against_version), item)
    return tuple(seen.values())


_DIRECTIONS = {
    Mode.BACKWARD: ("backward",),
    Mode.BACKWARD_TRANSITIVE: ("backward",),
    Mode.FORWARD: ("forward",),
    Mode.FORWARD_TRANSITIVE: ("forward",),
    Mode.FULL: ("backward", "forward"),
    Mode.FULL_TRANSITIVE: ("backward", "forward"),
}


def _compare(
    old: Document,
    new: Document,
    direction: str,
    against: int | None,
    judge: Judge,
    budget: Budget,
) -> tuple[list[Incompatibility], list[Undecided]]:
    """Incompatibilities and undecided places of one direction against one earlier version."""
    wider, narrower = (new, old) if direction == "backward" else (old, new)
    prover = Prover(Comparison(wider, narrower, direction == "backward", judge, budget))
    found: list[Incompatibility] = []
    open_: list[Undecided] = []
    try:
        findings = prover.includes(root_of(wider), [root_of(narrower)], ())
        for finding in findings:
            instance = witness(finding, narrower, wider, judge, prover.instances)
            if instance is MISSING:
                open_.append(Undecided(finding.pointer, finding.undecided_reason()))
            else:
                found.append(
                    Incompatibility(finding.pointer, finding.reason, direction, instance, against)
                )
    except BudgetExceeded as exc:
        open_.append(Undecided("", f"{direction} check not finished: {exc}"))
    return found, open_


def diff(old: Mapping[str, Any], new: Mapping[str, Any], mode: Mode | str) -> Verdict:
    """The verdict on `new` as the version after `old`."""
    return check([old], new, mode)
