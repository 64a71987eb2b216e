"""Parked stream batches: what a projection gave up on, named by its failure queue.

When a stream mapping's function keeps failing on a batch (retries exhausted, or the
records grew too old), Lambda sends an invocation record to the mapping's failure
queue: not the records, but where they are (`DDBStreamBatchInfo`: stream, shard, first
and last sequence numbers, arrival times). The port reads such messages, reads the
records they name back through the DynamoDB Streams API, and deletes a message once
its records were handled again. When the stream no longer has them (24 hours on,
or a closed shard gone), it says so (None) and the reconciler reads the events of
the message's time window from the event store instead.
Back ends: `reconciliation/streams.py` (SQS and DynamoDB Streams) and
`reconciliation/memory.py` (the fake); both pass
tests/integration/test_parked_batches_contract.py.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from formrelay.domain.errors import FormrelayError
from formrelay.domain.events import RecordedEvent
from formrelay.store.stream_records import event_from_stream_record

# The projections whose mappings park batches, by the name their failure queue serves.
STATUS_VIEW, DISPATCHER, PUBLISHER = "status_view", "dispatcher", "publisher"
PROJECTIONS = (STATUS_VIEW, DISPATCHER, PUBLISHER)


class UnreadableParkedMessageError(FormrelayError):
    """A failure queue's message does not name a stream batch (left on its queue)."""


class ParkedBatchNotRepairedError(FormrelayError):
    """A parked batch's records could not all be handled again (left on its queue)."""


@dataclass(frozen=True)
class ParkedBatch:
    """One failure-queue message: the stream batch it names, and how to delete it."""

    projection: str
    receipt: str
    stream_arn: str
    shard_id: str
    first_sequence: str
    last_sequence: str
    first_arrival: str | None
    last_arrival: str | None

    @classmethod
    def of(cls, projection: str, receipt: str, body: str) -> ParkedBatch:
        """The batch a message body names (UnreadableParkedMessageError if none)."""
        try:
            info: dict[str, Any] = json.loads(body)["DDBStreamBatchInfo"]
            return cls(
                projection=projection,
                receipt=receipt,
                stream_arn=str(info["streamArn"]),
                shard_id=str(info["shardId"]),
                first_sequence=str(info["startSequenceNumber"]),
                last_sequence=str(info["endSequenceNumber"]),
                first_arrival=info.get("approximateArrivalOfFirstRecord"),
                last_arrival=info.get("approximateArrivalOfLastRecord"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UnreadableParkedMessageError(f"{projection}: {body[:200]!r}") from exc


class ParkedBatches(ABC):
    """One projection's failure queue, and the stream its messages point into."""

    def __init__(self, projection: str) -> None:
        if projection not in PROJECTIONS:
            raise ValueError(f"no projection {projection!r}")
        self.projection = projection

    def take(self, limit: int = 10) -> list[ParkedBatch | UnreadableParkedMessageError]:
        """Up to `limit` parked batches (hidden from other readers for a while); a
        message that names none comes back as the error, and stays on its queue."""
        taken: list[ParkedBatch | UnreadableParkedMessageError] = []
        for receipt, body in self._receive(limit):
            try:
                taken.append(ParkedBatch.of(self.projection, receipt, body))
            except UnreadableParkedMessageError as exc:
                taken.append(exc)
        return taken

    def events(self, batch: ParkedBatch) -> list[RecordedEvent] | None:
        """The events the batch's records carry (ledger events too), in stream order;
        None when the stream no longer holds the records."""
        records = self._records(batch)
        if records is None:
            return None
        found = (event_from_stream_record(record, ledger=True) for record in records)
        return [event for event in found if event is not None]

    def done(self, batch: ParkedBatch) -> None:
        """Delete the batch's message: its records were handled again."""
        self._delete(batch.receipt)

    @abstractmethod
    def _receive(self, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` messages as (receipt, body); none when the queue is empty."""

    @abstractmethod
    def _records(self, batch: ParkedBatch) -> list[dict[str, Any]] | None:
        """The stream records from first to last sequence number (None if trimmed)."""

    @abstractmethod
    def _delete(self, receipt: str) -> None:
        """Delete the message (nothing if it is gone already)."""
