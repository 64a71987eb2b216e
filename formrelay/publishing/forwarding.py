"""The stream forwarder: every event a batch of Events-table stream records carries, onto
the bus, with a bounded retry of the entries the bus refused.

A record whose event is still refused after the last try (or fails its schema) is
returned by its sequence number, for the stream to hand over again: no event is dropped,
and an event may be published more than once (at least once; consumers dedupe by
`event_id`). The tenants' ledger events (audit.anchored) are domain events of the audit
ledger and are published too; consumers that want only submissions filter on the
detail type.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from formrelay.domain.errors import EventSchemaError, UnknownEventTypeError
from formrelay.domain.events import RecordedEvent
from formrelay.publishing.port import BusEntry, EventPublisher
from formrelay.store.stream_records import event_from_stream_record

logger = logging.getLogger(__name__)

ATTEMPTS = 3
_FIRST_PAUSE_SECONDS = 0.2


@dataclass
class Forwarded:
    """What one batch of stream records came to."""

    published: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)  # sequence numbers, for the stream to retry


def forward(
    records: Sequence[dict[str, Any]],
    publisher: EventPublisher,
    *,
    attempts: int = ATTEMPTS,
    pause: Callable[[float], None] = time.sleep,
) -> Forwarded:
    """Publish the events of the records; the records whose events did not get through."""
    outcome = Forwarded()
    pending: dict[str, tuple[str, RecordedEvent]] = {}  # event id -> (sequence number, event)
    for record in records:
        sequence = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
        event = event_from_stream_record(record, ledger=True)
        if event is None:
            outcome.skipped += 1
            continue
        try:
            BusEntry.of(event)
        except (EventSchemaError, UnknownEventTypeError) as refused:
            logger.error("event not published: %s", refused, extra={"event_id": event.event_id})
            outcome.failed.append(sequence)
            continue
        pending[event.event_id] = (sequence, event)
    for attempt in range(attempts):
        if not pending:
            break
        if attempt:
            pause(_FIRST_PAUSE_SECONDS * 2 ** (attempt - 1))
        refusals = publisher.publish([event for _, event in pending.values()])
        refused_ids = {refusal.event.event_id for refusal in refusals}
        outcome.published += len(pending) - len(refused_ids)
        pending = {eid: pair for eid, pair in pending.items() if eid in refused_ids}
        for refusal in refusals:
            logger.warning(
                "bus refused an event (try %d of %d): %s",
                attempt + 1,
                attempts,
                refusal.reason,
                extra={"event_id": refusal.event.event_id},
            )
    outcome.failed += [sequence for sequence, _ in pending.values()]
    return outcome
