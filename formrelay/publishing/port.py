"""The event publisher port: recorded events out to an event bus, in batches the bus takes.

Every event is checked against its registered schema before it leaves; the bus may
refuse some entries of a batch, and `publish` says which events were not published so
the caller can try them again. Publication is at least once: an event may reach the
bus twice (a retried batch), and consumers dedupe by `event_id`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from formrelay.domain.events import RecordedEvent
from formrelay.registry.schemas import check_event_data

SOURCE = "formrelay"
# EventBridge's PutEvents limits: entries per call, and bytes per call, counted as the
# source, detail type and detail in UTF-8 plus 14 bytes for the time of each entry.
MAX_ENTRIES = 10
MAX_BYTES = 256 * 1024
_TIME_BYTES = 14


@dataclass(frozen=True)
class BusEntry:
    """One event as the bus carries it: source, detail type (the event type), detail."""

    event: RecordedEvent
    detail: str

    @classmethod
    def of(cls, event: RecordedEvent) -> BusEntry:
        """The event's entry; EventSchemaError if its data fails its registered schema.

        An event too large for one entry (a submission near the intake's 256 KB limit)
        goes without its data: `data` is null and `data_omitted` says how large it was;
        the hash still names it, and the API's history serves it whole.
        """
        check_event_data(event.type, event.schema_version, event.data)
        entry = cls(event, _json(event.to_dict()))
        if entry.size <= MAX_BYTES:
            return entry
        omitted = {**event.to_dict(), "data": None, "data_omitted": {"bytes": len(entry.detail)}}
        return cls(event, _json(omitted))

    @property
    def detail_type(self) -> str:
        """The bus's detail type: the event's type."""
        return self.event.type

    @property
    def size(self) -> int:
        """The entry's size as the bus counts it."""
        text = SOURCE + self.detail_type + self.detail
        return len(text.encode("utf-8")) + _TIME_BYTES


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class Refusal:
    """An event the bus did not take, and why."""

    event: RecordedEvent
    reason: str


def batches(entries: Sequence[BusEntry]) -> Iterator[list[BusEntry]]:
    """The entries in order, in calls of at most MAX_ENTRIES entries and MAX_BYTES bytes."""
    batch: list[BusEntry] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) == MAX_ENTRIES or size + entry.size > MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry.size
    if batch:
        yield batch


class EventPublisher(ABC):
    """Publishes recorded events to the bus; adapters only put one batch."""

    def publish(self, events: Sequence[RecordedEvent]) -> list[Refusal]:
        """Put every event on the bus, in batches; the events the bus refused, in order.

        EventSchemaError (before anything is sent) if an event fails its schema.
        """
        entries = [BusEntry.of(event) for event in events]
        refused: list[Refusal] = []
        for batch in batches(entries):
            too_large = [entry for entry in batch if entry.size > MAX_BYTES]
            sendable = [entry for entry in batch if entry.size <= MAX_BYTES]
            refused += [Refusal(entry.event, "larger than the bus takes") for entry in too_large]
            if sendable:
                reasons = self._put(sendable)
                refused += [
                    Refusal(entry.event, reason)
                    for entry, reason in zip(sendable, reasons, strict=True)
                    if reason is not None
                ]
        return refused

    @abstractmethod
    def _put(self, entries: Sequence[BusEntry]) -> list[str | None]:
        """Put one batch (within the limits); per entry, None or why the bus refused it."""
