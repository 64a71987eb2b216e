"""Recorded events and their stream records, for the event bus's tests."""

from __future__ import annotations

from typing import Any

from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    LEDGER_STREAM,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.store.items import to_item
from formrelay.store.memory import InMemoryEventStore
from tests.support.events import received

ANCHORED = {
    "key": "anchors/acme/00000001.json",
    "previous_root": None,
    "root": "a" * 64,
    "sequence": 1,
    "since": "2024-05-01T12:00:00.000000Z",
    "tree_size": 1,
    "until": "2024-05-01T12:05:00.000000Z",
}


def attempted(attempt: int) -> NewEvent:
    """A delivery.attempted event that succeeded."""
    data = {
        "destination_id": "crm",
        "delivery_id": "del-1",
        "attempt": attempt,
        "started_at": "2024-05-01T12:00:00.000000Z",
        "duration_ms": 42,
        "outcome": "succeeded",
        "status_code": 200,
        "error_class": None,
    }
    return NewEvent(DELIVERY_ATTEMPTED, data, "c", causation_id="cause")


def history(
    tenant_id: str = "acme", submission_id: str = "sub-1", attempts: int = 2
) -> list[RecordedEvent]:
    """A submission's stream as recorded: received, then `attempts` attempts."""
    store = InMemoryEventStore()
    stream = StreamId(tenant_id, submission_id)
    events = [received("2024-05-01T12:00:00.000000Z")] + [
        attempted(n) for n in range(1, attempts + 1)
    ]
    return store.append(stream, events, 0)


def ledger_event(tenant_id: str = "acme") -> RecordedEvent:
    """An audit.anchored event on the tenant's ledger stream."""
    store = InMemoryEventStore()
    stream = StreamId(tenant_id, LEDGER_STREAM)
    return store.append(stream, [NewEvent("audit.anchored", ANCHORED, "c")], 0)[0]


def stream_record(event: RecordedEvent, sequence: int, name: str = "INSERT") -> dict[str, Any]:
    """The Events table stream record of the event's insertion."""
    return {
        "eventID": f"id-{sequence}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "SequenceNumber": str(sequence),
            "Keys": {"pk": to_item(event)["pk"], "sk": to_item(event)["sk"]},
            "NewImage": to_item(event),
            "StreamViewType": "NEW_IMAGE",
        },
    }
