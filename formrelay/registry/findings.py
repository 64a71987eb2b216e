"""What the inclusion prover hands back: a place where inclusion fails or is not shown.

A finding names the keyword's JSON pointer in the schema, a plain reason, and
candidate values placed at an instance path; the witness search embeds each in a
whole instance and keeps the first that both validators confirm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

InstancePath = tuple[str | int, ...]


@dataclass(frozen=True)
class Candidate:
    """A value that may tell the schemas apart, and where it goes in an instance."""

    path: InstancePath
    value: Any


@dataclass(frozen=True)
class Finding:
    """Inclusion fails here (decided) or could not be shown here (not decided)."""

    pointer: str
    reason: str
    candidates: tuple[Candidate, ...] = field(default=(), compare=False)
    decided: bool = True
    unproven: str = ""  # what to say when no witness turns up, if not reason

    def undecided_reason(self) -> str:
        """The reason an undecided place is reported with."""
        if self.unproven:
            return self.unproven
        return (
            self.reason if not self.decided else self.reason + " (no instance showing it was found)"
        )


class BudgetExceeded(Exception):
    """The check used up its time or step budget."""
