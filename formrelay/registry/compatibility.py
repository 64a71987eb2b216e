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
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from formrelay.registry.findings import BudgetExceeded
from formrelay.registry.inclusion import Budget, Comparison, Prover
from formrelay.registry.refs import Document, root_of
from formrelay.registry.validators import Judge, ensure_valid
from formrelay.registry.witnesses import MISSING, witness

DEFAULT_BUDGET_SECONDS = 2.0


class Mode(StrEnum):
    """A form's or an event type's compatibility mode."""

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"


class _NoWitness:
    """The witness of an incompatibility that no bounded search could show."""

    def __repr__(self) -> str:
        return "NO_WITNESS"


NO_WITNESS: Any = _NoWitness()


@dataclass(frozen=True)
class Incompatibility:
    """One reason the new schema is not compatible.

    `direction` is "backward" (the witness is valid under the earlier version and
    invalid under the new one) or "forward" (the reverse); `against_version` is the
    earlier version compared with (1-based), None when there is only one.
    """

    pointer: str
    reason: str
    direction: str
    witness: Any = NO_WITNESS
    against_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """{"pointer", "reason", "witness"?}: `witness` left out when none was found."""
        document: dict[str, Any] = {"pointer": self.pointer, "reason": self.reason}
        if self.witness is not NO_WITNESS:
            document["witness"] = self.witness
        return document


@dataclass(frozen=True)
class Undecided:
    """A construct the checker cannot decide: where, and what."""

    pointer: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """{"pointer", "reason"}."""
        return {"pointer": self.pointer, "reason": self.reason}


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: compatible, not (with every reason), or undecided."""

    mode: Mode
    incompatibilities: tuple[Incompatibility, ...] = ()
    undecided: tuple[Undecided, ...] = ()

    @property
    def compatible(self) -> bool | None:
        """False with any incompatibility, else None with anything undecided, else True."""
        if self.incompatibilities:
            return False
        if self.undecided:
            return None
        return True

    def as_dict(self) -> dict[str, Any]:
        """The shape `formrelay schemas diff --json` prints."""
        return {
            "compatible": self.compatible,
            "mode": self.mode.value,
            "incompatibilities": [i.as_dict() for i in self.incompatibilities],
            "undecided": [u.as_dict() for u in self.undecided],
        }


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
