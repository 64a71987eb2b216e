"""The event store port: append with an expected version, read a verified stream.

The logic lives here; back ends implement three small hooks (`_load`,
`_insert`), like Powertools' BasePersistenceLayer. Every back end passes the
same contract suite (tests/integration/test_event_store_contract.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from formrelay.domain.errors import ConcurrencyError, StreamNotFoundError
from formrelay.domain.events import NewEvent, RecordedEvent, StreamId
from formrelay.domain.hashing import GENESIS_HASH, seal, verify_chain
from formrelay.registry.schemas import check_event_data


class VersionTakenError(Exception):
    """Raised by a back end's `_insert` when a version already exists (internal)."""


class EventStore(ABC):
    """Append-only, per-submission streams of immutable, hash-chained events."""

    def append(
        self, stream: StreamId, events: Sequence[NewEvent], expected_version: int
    ) -> list[RecordedEvent]:
        """Append events atomically after expected_version; return them as recorded.

        Re-appending events whose event_ids are already in the stream writes
        nothing and returns the recorded events (idempotency). A stream whose
        version is not expected_version raises ConcurrencyError.
        """
        if not events:
            return []
        for event in events:
            check_event_data(event.type, event.schema_version, event.data)
        existing = self._load(stream)
        already = self._already_recorded(existing, events)
        if already is not None:
            return already
        if len(existing) != expected_version:
            raise ConcurrencyError(
                f"stream {stream.submission_id} is at version {len(existing)}, "
                f"not {expected_version}"
            )
        prev_hash = existing[-1].hash if existing else GENESIS_HASH
        sealed = seal(stream, events, expected_version, prev_hash)
        try:
            self._insert(sealed)
        except VersionTakenError as exc:
            already = self._already_recorded(self._load(stream), events)
            if already is not None:
                return already
            raise ConcurrencyError(
                f"stream {stream.submission_id}: version {expected_version + 1} was taken"
            ) from exc
        return sealed

    def read(self, stream: StreamId, *, verify: bool = True) -> list[RecordedEvent]:
        """Every event of a stream in order; the hash chain verified unless told not to."""
        events = self._load(stream)
        if not events:
            raise StreamNotFoundError(f"no stream {stream.submission_id}")
        if verify:
            verify_chain(events)
        return events

    def version(self, stream: StreamId) -> int:
        """The stream's current version (0 when it has no events)."""
        return len(self._load(stream))

    @staticmethod
    def _already_recorded(
        existing: Sequence[RecordedEvent], events: Sequence[NewEvent]
    ) -> list[RecordedEvent] | None:
        by_id = {event.event_id: event for event in existing}
        found = [by_id[e.event_id] for e in events if e.event_id in by_id]
        if not found:
            return None
        if len(found) != len(events):
            raise ConcurrencyError("some of these events are recorded already, some not")
        return found

    @abstractmethod
    def _load(self, stream: StreamId) -> list[RecordedEvent]:
        """All recorded events of a stream, ordered by version (strongly consistent)."""

    @abstractmethod
    def _insert(self, events: Sequence[RecordedEvent]) -> None:
        """Write sealed events all or none; raise VersionTakenError if any version exists."""
