"""Schema compatibility: does a new JSON Schema (draft-07) version accept what the old did?

BACKWARD: every instance valid under the old schema is valid under the new one (a
reader on the new schema accepts what was written before). FORWARD: the reverse.
FULL: both. *_TRANSITIVE: against every earlier version, not only the latest.
NONE: no check.

A verdict lists every incompatibility found, each with the JSON pointer it is at,
a plain reason and, where a bounded search found one, a witness: an instance one
schema accepts and the other rejects, re-checked with a validator before it is
reported. What the checker cannot decide is listed as undecided, never passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
    previous: Sequence[Mapping[str, Any]], new: Mapping[str, Any], mode: Mode | str
) -> Verdict:
    """The verdict on `new` as the next version after `previous` (oldest first) under mode.

    Non-transitive modes compare with the latest previous version only; with no
    previous version every schema is compatible. Raises InvalidSchemaError when a
    schema is not a valid draft-07 schema.
    """
    raise NotImplementedError("the checker lands with issue 10")


def diff(old: Mapping[str, Any], new: Mapping[str, Any], mode: Mode | str) -> Verdict:
    """The verdict on `new` as the version after `old`."""
    return check([old], new, mode)
