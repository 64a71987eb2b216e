"""Each destination's health: its recent attempts, last success, last error, and when a 410
disabled it. Kept by the status-view projection, read by the destinations listing.

A health record is a fold over the destination's `delivery.attempted` and
`destination.disabled` events that keeps the newest `WINDOW` attempts (by time, then
event id), the newest failure and success, and the newest disabling. Merging the same
events again, or in any order or batching, gives the same record: stream records come
at least once. A merge that changes nothing writes nothing.

Every batch of attempts writes its destinations' records, so a record is kept small: the
recent attempts without their response excerpts (only the last error keeps one), stored
as rows rather than objects and zlib-compressed into one binary attribute, as AWS's
DynamoDB guidance has it for large attribute values. A full window with a proxy's 503
page as its last error stays under 1 KB, one write unit
(`test_a_full_record_is_one_write_unit`); an error excerpt of 200 random characters may
make it two. The first read of a fold is eventually consistent (half a read unit).

The logic lives here; back ends implement four hooks (`_read`, `_write_if`, `_for_form`,
`_remove`): `DynamoDBDestinationHealth` below (one item per destination in its form's
health partition of the Views table, apart from the tenant's catalogue partition so
that attempts never make that hot) and `InMemoryDestinationHealth` (the fake). Both pass
tests/integration/test_destination_health_contract.py.
"""

from __future__ import annotations

import json
import random
import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.domain.errors import FormrelayError
from formrelay.domain.events import DELIVERY_ATTEMPTED, DESTINATION_DISABLED, RecordedEvent
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WINDOW = 20  # attempts kept: the "recent" of the success rate and latency
EXCERPT_LENGTH = 200
MAX_TRIES = 10  # concurrent batches for one destination: read, merge and write again
BACKOFF_SECONDS = 0.005  # before try n (from 0) again, a random wait up to this times 2**n


class HealthContentionError(FormrelayError):
    """A destination's health kept changing under the writer: the batch is retried."""


@dataclass(frozen=True)
class HealthRecord:
    """What is kept of a destination's health; `revision` guards each write."""

    recent: tuple[dict[str, Any], ...] = ()
    last_success_at: str | None = None
    last_error: dict[str, Any] | None = None
    disabled: dict[str, Any] | None = None
    revision: int = field(default=0, compare=False)

    def encode(self) -> bytes:
        """The stored form: compact rows, compressed."""
        document = {
            "recent": [[e[name] for name in ROW] for e in self.recent],
            "last_success_at": self.last_success_at,
            "last_error": self.last_error,
            "disabled": self.disabled,
        }
        return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)

    @classmethod
    def decode(cls, stored: bytes, revision: int) -> HealthRecord:
        data = json.loads(zlib.decompress(stored))
        return cls(
            recent=tuple(_attempt(dict(zip(ROW, row, strict=True))) for row in data["recent"]),
            last_success_at=data["last_success_at"],
            last_error=data["last_error"],
            disabled=data["disabled"],
            revision=revision,
        )


# What the stored rows of `recent` hold, in order (`ok` is worked out from the outcome)
ROW = ("event_id", "at", "outcome", "duration_ms", "status_code", "error_class")


def _attempt(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "ok": entry["outcome"] == "succeeded"}


def attempt_entry(event: RecordedEvent) -> dict[str, Any]:
    """One attempt as the health record keeps it: small, keyed by its event id."""
    data = event.data
    return _attempt(
        {
            "event_id": event.event_id,
            "at": event.occurred_at,
            "outcome": data["outcome"],
            "duration_ms": data["duration_ms"],
            "status_code": data.get("status_code"),
            "error_class": data.get("error_class"),
        }
    )


def error_entry(event: RecordedEvent) -> dict[str, Any]:
    """A failed attempt as the last error: the attempt with the start of the response."""
    excerpt = event.data.get("response_excerpt")
    return {
        **attempt_entry(event),
        "response_excerpt": excerpt[:EXCERPT_LENGTH] if excerpt else None,
    }


def _newest(*candidates: dict[str, Any] | None) -> dict[str, Any] | None:
    present = [c for c in candidates if c is not None]
    return max(present, key=lambda c: (c["at"], c.get("event_id", ""))) if present else None


def merge(record: HealthRecord, events: Iterable[RecordedEvent]) -> HealthRecord:
    """The record with these events folded in (any order, any repeats: the same result)."""
    by_id = {entry["event_id"]: entry for entry in record.recent}
    last_error, last_success_at = record.last_error, record.last_success_at
    disabled = record.disabled
    for event in events:
        if event.type == DELIVERY_ATTEMPTED:
            entry = attempt_entry(event)
            by_id.setdefault(entry["event_id"], entry)
            if entry["ok"]:
                last_success_at = max(filter(None, (last_success_at, entry["at"])))
            else:
                last_error = _newest(last_error, error_entry(event))
        elif event.type == DESTINATION_DISABLED:
            disabled = _newest(
                disabled,
                {
                    "event_id": event.event_id,
                    "at": event.occurred_at,
                    "reason": event.data["reason"],
                    "status_code": event.data["status_code"],
                },
            )
    recent = sorted(by_id.values(), key=lambda e: (e["at"], e["event_id"]))[-WINDOW:]
    return HealthRecord(tuple(recent), last_success_at, last_error, disabled, record.revision)


def _percentile(values: Sequence[int], share: float) -> int:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def summary(record: HealthRecord | None) -> dict[str, Any]:
    """The health as the API answers it: rates and latencies worked out from the recent."""
    record = record or HealthRecord()
    durations = [e["duration_ms"] for e in record.recent]
    succeeded = sum(1 for e in record.recent if e["ok"])
    return {
        "recent_attempts": len(record.recent),
        "recent_succeeded": succeeded,
        "success_rate": round(succeeded / len(record.recent), 4) if record.recent else None,
        "latency_ms": (
            {
                "p50": int(median(durations)),
                "p95": _percentile(durations, 0.95),
                "max": max(durations),
            }
            if durations
            else None
        ),
        "last_attempt_at": record.recent[-1]["at"] if record.recent else None,
        "last_success_at": record.last_success_at,
        "last_error": record.last_error,
        "disabled": record.disabled,
        "recent": list(reversed(record.recent)),  # newest first
    }


class DestinationHealth(ABC):
    """Reads and folds destinations' health, always within one tenant."""

    def record(
        self, tenant_id: str, form_id: str, destination_id: str, events: Sequence[RecordedEvent]
    ) -> bool:
        """Fold these events into the destination's health; whether anything was written."""
        for tried in range(MAX_TRIES):
            if tried:  # writers that met keep meeting unless they part: full jitter
                time.sleep(random.uniform(0, BACKOFF_SECONDS * 2**tried))
            # A first read may be stale (half the read units): a stale record's revision
            # refuses the write, and the reads after are strongly consistent. A stale record
            # the events change nothing in is no harm: the merge is a join, so neither would
            # they change the newer one it is behind.
            current = self._read(tenant_id, form_id, destination_id, consistent=tried > 0)
            merged = merge(current, events)
            if merged == current:
                return False
            if self._write_if(tenant_id, form_id, destination_id, merged, current.revision):
                return True
        raise HealthContentionError(f"health of {destination_id} kept changing")

    def get(self, tenant_id: str, form_id: str, destination_id: str) -> HealthRecord:
        """One destination's health (empty when nothing was attempted yet)."""
        return self._read(tenant_id, form_id, destination_id, consistent=True)

    def for_form(self, tenant_id: str, form_id: str) -> dict[str, HealthRecord]:
        """The health of each of a form's destinations that has any, by destination id."""
        return self._for_form(tenant_id, form_id)

    def forget(self, tenant_id: str, form_id: str, destination_id: str) -> None:
        """Drop a destination's health: a deleted one's, or before a new one takes its id."""
        self._remove(tenant_id, form_id, destination_id)

    @abstractmethod
    def _read(
        self, tenant_id: str, form_id: str, destination_id: str, *, consistent: bool
    ) -> HealthRecord:
        """The stored record with its revision, or an empty one (0)."""

    @abstractmethod
    def _write_if(
        self,
        tenant_id: str,
        form_id: str,
        destination_id: str,
        record: HealthRecord,
        revision: int,
    ) -> bool:
        """Store the record as revision + 1 if the stored one is still `revision` (0: none
        is stored); whether it was."""

    @abstractmethod
    def _for_form(self, tenant_id: str, form_id: str) -> dict[str, HealthRecord]:
        """Every stored record of the form's destinations."""

    @abstractmethod
    def _remove(self, tenant_id: str, form_id: str, destination_id: str) -> None:
        """Delete the stored record, if any."""


class HealthBatch:
    """The health events of one stream batch, grouped by destination: one write each."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str, str], list[RecordedEvent]] = {}

    def add(self, tenant_id: str, form_id: str, event: RecordedEvent) -> None:
        """Keep the event if it says something of its destination's health."""
        if event.type in (DELIVERY_ATTEMPTED, DESTINATION_DISABLED):
            key = (tenant_id, form_id, event.data["destination_id"])
            self._events.setdefault(key, []).append(event)

    def flush(self, health: DestinationHealth) -> int:
        """Fold each destination's events into its health; how many records were written."""
        written = sum(
            health.record(tenant_id, form_id, destination_id, events)
            for (tenant_id, form_id, destination_id), events in self._events.items()
        )
        self._events.clear()
        return written


class DynamoDBDestinationHealth(ViewsTableAdapter, DestinationHealth):
    """One item per destination in its form's health partition of the Views table."""

    def __init__(self, views_table: str, dynamodb: DynamoDBClient | None = None) -> None:
        ViewsTableAdapter.__init__(self, views_table, dynamodb)

    def _key(self, tenant_id: str, form_id: str, destination_id: str) -> dict[str, Any]:
        return {
            "pk": {"S": vk.health_pk(tenant_id, form_id)},
            "sk": {"S": vk.health_sk(destination_id)},
        }

    def _read(
        self, tenant_id: str, form_id: str, destination_id: str, *, consistent: bool
    ) -> HealthRecord:
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key=self._key(tenant_id, form_id, destination_id),
            ConsistentRead=consistent,
        ).get("Item")
        return HealthRecord() if item is None else _from_item(item)

    def _write_if(
        self,
        tenant_id: str,
        form_id: str,
        destination_id: str,
        record: HealthRecord,
        revision: int,
    ) -> bool:
        try:
            self.dynamodb.put_item(
                TableName=self.views_table,
                Item={
                    **self._key(tenant_id, form_id, destination_id),
                    # the tenant, form and destination are in the key: nothing else
                    "kind": {"S": "destination_health"},
                    "revision": {"N": str(revision + 1)},
                    "health": {"B": record.encode()},
                },
                # read as revision 0: nothing was stored, and nothing may be since; read as
                # any other: that one is still stored (not forgotten since, nor replaced)
                **(
                    {"ConditionExpression": "attribute_not_exists(pk)"}
                    if revision == 0
                    else {
                        "ConditionExpression": "revision = :revision",
                        "ExpressionAttributeValues": {":revision": {"N": str(revision)}},
                    }
                ),
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def _for_form(self, tenant_id: str, form_id: str) -> dict[str, HealthRecord]:
        found: dict[str, HealthRecord] = {}
        paginator = self.dynamodb.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.views_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": vk.health_pk(tenant_id, form_id)}},
        ):
            for item in page["Items"]:
                destination_id = item["sk"]["S"].removeprefix(vk.health_sk(""))
                found[destination_id] = _from_item(item)
        return found

    def _remove(self, tenant_id: str, form_id: str, destination_id: str) -> None:
        self.dynamodb.delete_item(
            TableName=self.views_table, Key=self._key(tenant_id, form_id, destination_id)
        )


def _from_item(item: dict[str, Any]) -> HealthRecord:
    return HealthRecord.decode(item["health"]["B"], int(item["revision"]["N"]))


class InMemoryDestinationHealth(DestinationHealth):
    """Health records in a dict keyed by tenant, form and destination."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], tuple[bytes, int]] = {}
        self._lock = threading.Lock()

    def _read(
        self, tenant_id: str, form_id: str, destination_id: str, *, consistent: bool
    ) -> HealthRecord:
        with self._lock:
            stored = self._items.get((tenant_id, form_id, destination_id))
        return HealthRecord() if stored is None else HealthRecord.decode(*stored)

    def _write_if(
        self,
        tenant_id: str,
        form_id: str,
        destination_id: str,
        record: HealthRecord,
        revision: int,
    ) -> bool:
        key = (tenant_id, form_id, destination_id)
        with self._lock:
            stored = self._items.get(key)
            if (stored[1] if stored else 0) != revision:
                return False
            self._items[key] = (record.encode(), revision + 1)
        return True

    def _for_form(self, tenant_id: str, form_id: str) -> dict[str, HealthRecord]:
        with self._lock:
            items = dict(self._items)
        return {
            d: HealthRecord.decode(*stored)
            for (t, f, d), stored in items.items()
            if (t, f) == (tenant_id, form_id)
        }

    def _remove(self, tenant_id: str, form_id: str, destination_id: str) -> None:
        with self._lock:
            self._items.pop((tenant_id, form_id, destination_id), None)
