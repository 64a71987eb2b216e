"""DynamoDB Streams reads for the local event source mappings, straight from moto's backend.

On AWS an event source mapping reads its stream inside the Lambda service, not through
a function's client. Locally the stream pollers called DescribeStream, GetShardIterator
and GetRecords through boto3, and moto serialised every record for each of them: with
three mappings on the events table each record was serialised three times, the largest
single cost of the stack's own plumbing under load (bench/local_throughput.py). When moto
runs in this process (formrelay.local.in_process_aws), a poller reads its backend
instead: the same three calls, answered as boto3 would parse them (sequence numbers as
text, times as timezone-aware datetimes). A record is copied where this changes it; its
images stay moto's own, which the poller only reads (formrelay.local.lambda_events
builds each Lambda event afresh).

moto's binary attribute values are already base64 text, as Lambda's event carries them
(formrelay.local.lambda_events leaves text as it is).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from moto.dynamodbstreams.models import DynamoDBStreamsBackend, dynamodbstreams_backends

from formrelay.local.emulator import ACCOUNT_ID, REGION


class StreamReadError(RuntimeError):
    """A stream read the backend cannot answer (an unknown or forgotten shard iterator)."""


def _aware(value: Any) -> Any:
    """moto's naive UTC datetimes as the aware ones boto3 returns."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class InProcessStreamReads:
    """The three DynamoDB Streams calls a stream poller makes, on moto's in-process backend."""

    @property
    def _backend(self) -> DynamoDBStreamsBackend:
        backend: DynamoDBStreamsBackend = dynamodbstreams_backends[ACCOUNT_ID][REGION]
        return backend

    def describe_stream(self, *, StreamArn: str) -> dict[str, Any]:
        """DescribeStream: the stream's shards."""
        described = copy.deepcopy(self._backend.describe_stream(StreamArn))
        described["CreationRequestDateTime"] = _aware(described.get("CreationRequestDateTime"))
        return {"StreamDescription": described}

    def get_shard_iterator(
        self,
        *,
        StreamArn: str,
        ShardId: str,
        ShardIteratorType: str,
        SequenceNumber: str | None = None,
    ) -> dict[str, Any]:
        """GetShardIterator: an iterator at a position of one shard."""
        # moto annotates it as text, but its own API layer passes a number: its iterator
        # adds 1 to it for AFTER_SEQUENCE_NUMBER.
        sequence: Any = None if SequenceNumber is None else int(SequenceNumber)
        iterator = self._backend.get_shard_iterator(StreamArn, ShardId, ShardIteratorType, sequence)
        return {"ShardIterator": iterator.arn}

    def get_records(self, *, ShardIterator: str, Limit: int = 1000) -> dict[str, Any]:
        """GetRecords: up to Limit records from an iterator, and the iterator after them."""
        try:
            answer = self._backend.get_records(ShardIterator, Limit)
        except KeyError as exc:
            raise StreamReadError(f"unknown shard iterator {ShardIterator[-12:]}") from exc
        records = []
        for record in answer["Records"]:
            change = dict(record["dynamodb"])
            change["ApproximateCreationDateTime"] = _aware(
                change.get("ApproximateCreationDateTime")
            )
            records.append({**record, "dynamodb": change})
        return {"Records": records, "NextShardIterator": answer["NextShardIterator"]}
