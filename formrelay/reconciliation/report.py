"""What one reconcile run repaired, by kind: returned, logged, counted and kept.

Kinds (each a failure the pipeline's own machinery did not recover from):
- `view_behind`: a status view older than its stream (or never written), re-projected;
- `undispatched`: a delivery with no attempt after the grace period, its job queued again;
- `retry_resumed`: a retrying delivery whose next attempt is long overdue (its retry
  execution was lost), attempted now, later waits handed to a new execution;
- `parked_record`: a stream record a projection gave up on (its failure queue's
  message), handled again as that projection would, and the message deleted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

VIEW_BEHIND = "view_behind"
UNDISPATCHED = "undispatched"
RETRY_RESUMED = "retry_resumed"
PARKED_RECORD = "parked_record"
KINDS = (VIEW_BEHIND, UNDISPATCHED, RETRY_RESUMED, PARKED_RECORD)


@dataclass(frozen=True)
class Repair:
    """One thing repaired: what, for which tenant and submission, and how."""

    kind: str
    tenant_id: str
    submission_id: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        """The repair as JSON."""
        return {
            "kind": self.kind,
            "tenant_id": self.tenant_id,
            "submission_id": self.submission_id,
            "detail": self.detail,
        }


@dataclass
class ReconcileReport:
    """A run: every repair made and every error met (a failed repair is retried next run)."""

    started_at: str
    repairs: list[Repair] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, repair: Repair) -> None:
        """Note a repair."""
        self.repairs.append(repair)

    def counts(self) -> dict[str, int]:
        """How many repairs of each kind (every kind listed, zero included)."""
        found = Counter(r.kind for r in self.repairs)
        return {kind: found.get(kind, 0) for kind in KINDS}

    def of_tenant(self, tenant_id: str) -> list[Repair]:
        """This tenant's repairs."""
        return [r for r in self.repairs if r.tenant_id == tenant_id]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "started_at": self.started_at,
            "counts": self.counts(),
            "repairs": [r.as_dict() for r in self.repairs],
            "errors": list(self.errors),
        }
