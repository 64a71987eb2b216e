"""The event store port: append with an expected version, read a verified stream.

The logic lives here; back ends implement three small hooks (`_load`,
`_insert`), like Powertools' BasePersistenceLayer. Every back end passes the
same contract suite (tests/integration/test_event_store_contract.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from formrelay.domain.errors import ConcurrencyError, StreamNotFoundError
from formrelay.domain.events import NewEvent, RecordedEvent, StreamId
from formrelay.domain.hashing import GENESIS_HASH, seal, verify_chain
from formrelay.registry.schemas import check_event_data
from formrelay.store.items import TENANT_INDEX_SHARDS, tenant_index_sk

# The widest window: every key of the tenant index starts with a four-digit year.
_EARLIEST, _LATEST = "0000", "9999"
# A shard's position once it has nothing more in the window.
_EXHAUSTED = "~"

# Where a walk over a tenant's events stands: per shard, the last key given out.
TenantPosition = dict[str, str]


@dataclass(frozen=True)
class TenantEventsPage:
    """Events of one tenant in time order, and where the next page starts (None: no more)."""

    events: list[RecordedEvent]
    position: TenantPosition | None


class VersionTakenError(Exception):
    """Raised by a back end's `_insert` when a version already exists (internal)."""


class EventStore(ABC):
    """Append-only, per-submission streams of immutable, hash-chained events."""

    def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        *,
        known: Sequence[RecordedEvent] | None = None,
    ) -> list[RecordedEvent]:
        """Append events atomically after expected_version; return them as recorded.

        Re-appending events whose event_ids are already in the stream writes
        nothing and returns the recorded events (idempotency). A stream whose
        version is not expected_version raises ConcurrencyError.

        The stream is read first only when it must be: a new stream
        (expected_version 0) has no head to chain to, and a caller that has just
        read the stream passes what it read as `known` (its first expected_version
        events, as `read` returned them). Either way the write is conditional on
        the next version being free, and only when it is taken is the stream read,
        to tell a repeat (answered as recorded) from a rival (ConcurrencyError).
        """
        if not events:
            return []
        for event in events:
            check_event_data(event.type, event.schema_version, event.data)
        if known is not None and len(known) == expected_version:
            existing = list(known)
        elif known is None and expected_version == 0:
            existing = []
        else:
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

    def tenant_events(
        self,
        tenant_id: str,
        *,
        since: str | None = None,
        until: str | None = None,
        after: Mapping[str, str] | None = None,
        limit: int = 500,
    ) -> TenantEventsPage:
        """A page of the tenant's events that occurred in [since, until), in time order.

        since and until are RFC 3339 UTC times written as events record them (with
        microseconds, see `domain.clock.rfc3339`). `after` is the position a previous
        page returned. Pages may be shorter than `limit` and still be followed by
        more: only a None position means the window is done. Read from an index, so
        an event appended a moment ago may not be listed yet.
        """
        lower, upper = since or _EARLIEST, until or _LATEST
        positions = dict(after) if after else {}
        per_shard = max(1, -(-limit // TENANT_INDEX_SHARDS))
        fetched: dict[str, tuple[list[tuple[str, RecordedEvent]], bool]] = {}
        for shard in range(TENANT_INDEX_SHARDS):
            start = positions.get(str(shard))
            if start == _EXHAUSTED:
                continue
            # The least key greater than `start` is `start` followed by NUL.
            low = lower if start is None else max(lower, start + "\x00")
            events, more = self._index_range(tenant_id, shard, low, upper, per_shard)
            fetched[str(shard)] = ([(tenant_index_sk(e), e) for e in events], more)
        # Keys are given out in order only up to the least last key of a shard that has
        # more: beyond it, that shard may hold keys not fetched yet.
        frontier = min(
            (keyed[-1][0] for keyed, more in fetched.values() if more and keyed), default=None
        )
        given: list[tuple[str, RecordedEvent]] = []
        state = {name: value for name, value in positions.items() if value == _EXHAUSTED}
        for name, (keyed, more) in fetched.items():
            mine = [pair for pair in keyed if frontier is None or pair[0] <= frontier]
            given.extend(mine)
            if not more and len(mine) == len(keyed):
                state[name] = _EXHAUSTED
            elif mine:
                state[name] = mine[-1][0]
            elif name in positions:
                state[name] = positions[name]
        given.sort(key=lambda pair: pair[0])
        done = all(state.get(str(shard)) == _EXHAUSTED for shard in range(TENANT_INDEX_SHARDS))
        return TenantEventsPage(
            events=[event for _, event in given], position=None if done else state
        )

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
    def _index_range(
        self, tenant_id: str, shard: int, lower: str, upper: str, limit: int
    ) -> tuple[list[RecordedEvent], bool]:
        """Up to `limit` events of one tenant-index shard with lower <= key <= upper, in key
        order, and whether more lie in that range (the index may lag recent appends)."""

    @abstractmethod
    def _insert(self, events: Sequence[RecordedEvent]) -> None:
        """Write sealed events all or none; raise VersionTakenError if any version exists."""
