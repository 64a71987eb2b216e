"""How a recorded event is laid out as a DynamoDB item (and read back from a stream image)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from formrelay.domain.canonical import canonical_json
from formrelay.domain.events import RecordedEvent, StreamId


def stream_key(stream: StreamId) -> str:
    """The partition key of a stream: always led by the tenant."""
    return f"T#{stream.tenant_id}#S#{stream.submission_id}"


def version_key(version: int) -> str:
    """The sort key of one version of a stream."""
    return f"V#{version:010d}"


# The tenant index (the Events table's gsi1) spreads each tenant's events over this many
# partitions, so one busy tenant does not make one hot index partition (a partition takes
# ~1,000 writes a second). A stream's events all go to one shard. Changing the number
# re-homes every event: it would need the index rebuilt.
TENANT_INDEX_SHARDS = 4


def shard_of(stream: StreamId) -> int:
    """The tenant-index shard of a stream (stable: a hash of its submission id)."""
    digest = hashlib.sha256(stream.submission_id.encode("utf-8")).digest()
    return digest[0] % TENANT_INDEX_SHARDS


def tenant_index_pk(tenant_id: str, shard: int) -> str:
    """One shard of a tenant's events in time order."""
    return f"T#{tenant_id}#E#{shard}"


def tenant_index_sk(event: RecordedEvent) -> str:
    """An event's place in its tenant's time order: when it occurred, then stream and version.

    Every key starts with an RFC 3339 time (`...T12:00:00.000000Z`), so a time window is
    a range of keys; the stream and version after it make each key unique.
    """
    return f"{event.occurred_at}#{event.stream.submission_id}#{version_key(event.version)}"


def to_item(event: RecordedEvent) -> dict[str, Any]:
    """The DynamoDB item (attribute-value form) of a recorded event."""
    item: dict[str, Any] = {
        "pk": {"S": stream_key(event.stream)},
        "sk": {"S": version_key(event.version)},
        "tenant_id": {"S": event.stream.tenant_id},
        "submission_id": {"S": event.stream.submission_id},
        "version": {"N": str(event.version)},
        "event_id": {"S": event.event_id},
        "type": {"S": event.type},
        "schema_version": {"N": str(event.schema_version)},
        "occurred_at": {"S": event.occurred_at},
        "correlation_id": {"S": event.correlation_id},
        # Data is kept as its canonical JSON text: numbers stay exactly as hashed.
        "data": {"S": canonical_json(event.data).decode("utf-8")},
        "prev_hash": {"S": event.prev_hash},
        "hash": {"S": event.hash},
        # The tenant index: not part of the event, so not hashed.
        "gsi1pk": {"S": tenant_index_pk(event.stream.tenant_id, shard_of(event.stream))},
        "gsi1sk": {"S": tenant_index_sk(event)},
    }
    if event.causation_id is not None:
        item["causation_id"] = {"S": event.causation_id}
    return item


def from_item(item: dict[str, Any]) -> RecordedEvent:
    """A recorded event from its item in attribute-value form (query or stream image)."""

    def text(name: str) -> str:
        return str(item[name]["S"])

    return RecordedEvent(
        stream=StreamId(text("tenant_id"), text("submission_id")),
        version=int(item["version"]["N"]),
        event_id=text("event_id"),
        type=text("type"),
        schema_version=int(item["schema_version"]["N"]),
        occurred_at=text("occurred_at"),
        correlation_id=text("correlation_id"),
        causation_id=item["causation_id"]["S"] if "causation_id" in item else None,
        data=json.loads(text("data")),
        prev_hash=text("prev_hash"),
        hash=text("hash"),
    )
