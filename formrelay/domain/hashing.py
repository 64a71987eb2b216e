"""The per-stream hash chain: hash = sha256(prev_hash || canonical_json(body))."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from formrelay.domain.canonical import canonical_json
from formrelay.domain.errors import IntegrityError
from formrelay.domain.events import NewEvent, RecordedEvent, StreamId

GENESIS_HASH = "0" * 64


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """The hash of an event body chained to its predecessor's hash."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_json(body))
    return digest.hexdigest()


def seal(
    stream: StreamId, events: Sequence[NewEvent], after_version: int, prev_hash: str
) -> list[RecordedEvent]:
    """Give new events their versions and chained hashes, after a stream head."""
    sealed: list[RecordedEvent] = []
    for offset, event in enumerate(events, start=1):
        unsealed = RecordedEvent(
            stream=stream,
            version=after_version + offset,
            event_id=event.event_id,
            type=event.type,
            schema_version=event.schema_version,
            occurred_at=event.occurred_at,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            data=event.data,
            prev_hash=prev_hash,
            hash="",
        )
        prev_hash = chain_hash(prev_hash, unsealed.body())
        sealed.append(_with_hash(unsealed, prev_hash))
    return sealed


def _with_hash(event: RecordedEvent, value: str) -> RecordedEvent:
    return replace(event, hash=value)


def verify_chain(events: Iterable[RecordedEvent]) -> None:
    """Raise IntegrityError unless versions run 1..n and every hash links and matches."""
    prev_hash = GENESIS_HASH
    for expected_version, event in enumerate(events, start=1):
        if event.version != expected_version:
            raise IntegrityError(
                f"stream {event.stream.submission_id}: version {event.version} "
                f"where {expected_version} was expected"
            )
        if event.prev_hash != prev_hash:
            raise IntegrityError(
                f"stream {event.stream.submission_id}: version {event.version} "
                "does not link to its predecessor"
            )
        if chain_hash(prev_hash, event.body()) != event.hash:
            raise IntegrityError(
                f"stream {event.stream.submission_id}: version {event.version} was altered"
            )
        prev_hash = event.hash
