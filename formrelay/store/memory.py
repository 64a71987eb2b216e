"""An in-memory event store: the fake used by unit tests, held to the same contract."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence

from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.store.items import shard_of, tenant_index_sk
from formrelay.store.port import EventStore, VersionTakenError


class InMemoryEventStore(EventStore):
    """Streams in a dict, guarded by a lock so appends are atomic."""

    def __init__(self) -> None:
        self._streams: dict[StreamId, list[RecordedEvent]] = {}
        self._lock = threading.Lock()

    def _load(self, stream: StreamId) -> list[RecordedEvent]:
        with self._lock:
            # Copies in and out, as a real database would: a caller mutating an
            # event's data after append or read must not rewrite history.
            return copy.deepcopy(self._streams.get(stream, []))

    def _index_range(
        self, tenant_id: str, shard: int, lower: str, upper: str, limit: int
    ) -> tuple[list[RecordedEvent], bool]:
        with self._lock:
            keyed = sorted(
                (tenant_index_sk(event), event)
                for stream, events in self._streams.items()
                if stream.tenant_id == tenant_id and shard_of(stream) == shard
                for event in events
                if lower <= tenant_index_sk(event) <= upper
            )
        return copy.deepcopy([event for _, event in keyed[:limit]]), len(keyed) > limit

    def _insert(self, events: Sequence[RecordedEvent]) -> None:
        with self._lock:
            for event in events:
                taken = self._streams.get(event.stream, [])
                if event.version <= len(taken):
                    raise VersionTakenError(event.version)
            for event in copy.deepcopy(list(events)):
                self._streams.setdefault(event.stream, []).append(event)
