"""What a compatibility check answers: the modes, and verdicts with their reasons.

Plain data, apart from the checker (formrelay/registry/compatibility.py), so that the
forms port, its back ends and the errors can name modes and verdicts without
importing the prover and its automata (every function imports the forms port).
"""

from __future__ import annotations

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
