"""The event envelope: what is appended (NewEvent) and what is stored (RecordedEvent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from formrelay.domain.ids import new_id

SUBMISSION_RECEIVED = "submission.received"
DELIVERY_ATTEMPTED = "delivery.attempted"
DELIVERY_FAILED = "delivery.failed"
DELIVERY_DEAD_LETTERED = "delivery.dead_lettered"
DELIVERY_REDELIVERY_REQUESTED = "delivery.redelivery_requested"
DESTINATION_DISABLED = "destination.disabled"
AUDIT_ANCHORED = "audit.anchored"

# The tenant's ledger: its own hash-chained stream of audit records (anchors), kept
# beside the submissions' streams. No submission id can be this: one starts with a
# letter or digit.
LEDGER_STREAM = "_ledger"


def utc_now() -> str:
    """Now, as an RFC 3339 UTC timestamp with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StreamId:
    """One submission's stream, always qualified by its tenant."""

    tenant_id: str
    submission_id: str

    @property
    def is_ledger(self) -> bool:
        """True for the tenant's ledger stream, which is no submission's."""
        return self.submission_id == LEDGER_STREAM


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended: the store assigns version and hashes."""

    type: str
    data: dict[str, Any]
    correlation_id: str
    causation_id: str | None = None
    schema_version: int = 1
    event_id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: immutable, versioned, chained to its predecessor."""

    stream: StreamId
    version: int
    event_id: str
    type: str
    schema_version: int
    occurred_at: str
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The hashed part of the event: everything except its own hash."""
        return {
            "tenant_id": self.stream.tenant_id,
            "submission_id": self.stream.submission_id,
            "version": self.version,
            "event_id": self.event_id,
            "type": self.type,
            "schema_version": self.schema_version,
            "occurred_at": self.occurred_at,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }

    def to_dict(self) -> dict[str, Any]:
        """The event as the API shows it."""
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> RecordedEvent:
        """An event as the API shows it (an export's line), read back; KeyError or
        ValueError when a field is missing or of the wrong kind."""
        causation = document["causation_id"]
        event = cls(
            stream=StreamId(str(document["tenant_id"]), str(document["submission_id"])),
            version=int(document["version"]),
            event_id=str(document["event_id"]),
            type=str(document["type"]),
            schema_version=int(document["schema_version"]),
            occurred_at=str(document["occurred_at"]),
            correlation_id=str(document["correlation_id"]),
            causation_id=None if causation is None else str(causation),
            data=document["data"],
            prev_hash=str(document["prev_hash"]),
            hash=str(document["hash"]),
        )
        if not isinstance(event.data, dict):
            raise ValueError("an event's data is an object")
        return event
