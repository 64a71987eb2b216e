"""Parked batches on an SQS failure queue, their records read back from DynamoDB Streams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from formrelay.reconciliation.parked import ParkedBatch, ParkedBatches

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

# The stream has let the records go: read them from the event store instead.
_GONE = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException"})
# An open shard may answer empty pages before the records that follow: read this many.
_EMPTY_PAGES = 5
_PAGE = 1000


class SQSParkedBatches(ParkedBatches):
    """One projection's failure queue (SQS) and the Events table's stream."""

    def __init__(
        self,
        projection: str,
        queue_url: str,
        sqs: SQSClient | None = None,
        streams: DynamoDBStreamsClient | None = None,
    ) -> None:
        super().__init__(projection)
        self.queue_url = queue_url
        self._sqs, self._streams = sqs, streams

    @property
    def sqs(self) -> SQSClient:
        """The SQS client, built on first use."""
        if self._sqs is None:
            self._sqs = boto3.client("sqs")
        return self._sqs

    @property
    def streams(self) -> DynamoDBStreamsClient:
        """The DynamoDB Streams client, built on first use."""
        if self._streams is None:
            self._streams = boto3.client("dynamodbstreams")
        return self._streams

    def _receive(self, limit: int) -> list[tuple[str, str]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=max(1, min(limit, 10)), WaitTimeSeconds=0
        )
        return [(m["ReceiptHandle"], m["Body"]) for m in answer.get("Messages", [])]

    def _records(self, batch: ParkedBatch) -> list[dict[str, Any]] | None:
        try:
            iterator: str | None = self.streams.get_shard_iterator(
                StreamArn=batch.stream_arn,
                ShardId=batch.shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=batch.first_sequence,
            )["ShardIterator"]
            return self._read_until(iterator, int(batch.last_sequence))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
                return None
            raise

    def _read_until(self, iterator: str | None, last: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        empty = 0
        while iterator is not None and empty < _EMPTY_PAGES:
            page = self.streams.get_records(ShardIterator=iterator, Limit=_PAGE)
            records = page.get("Records", [])
            empty = 0 if records else empty + 1
            for record in records:
                if int(record["dynamodb"]["SequenceNumber"]) > last:
                    return found
                found.append(dict(record))
            if found and int(found[-1]["dynamodb"]["SequenceNumber"]) == last:
                return found
            iterator = page.get("NextShardIterator")
        return found

    def _delete(self, receipt: str) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
