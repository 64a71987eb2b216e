"""Event source mappings, locally: poll DynamoDB streams and SQS, invoke functions."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import boto3

from formrelay.local.emulator import forget_shard_iterator
from formrelay.local.filters import parse_filters, passes
from formrelay.local.functions import FunctionRuntime
from formrelay.local.lambda_events import failed_item_ids, sqs_record, stream_record

logger = logging.getLogger(__name__)

IDLE_INTERVAL_SECONDS = 0.2
SHARD_REFRESH_SECONDS = 2.0


# Idle reads (about 0.2 s apart) before a stream poller takes a fresh iterator.
RENEW_AFTER_IDLE_READS = 10


def backoff_seconds(attempt: int) -> float:
    """Short exponential backoff between retries of a failed batch (capped at 1 s)."""
    return float(min(0.05 * 2**attempt, 1.0))


class Poller:
    """Polls one event source in a background thread until stopped."""

    def __init__(self, runtime: FunctionRuntime, source: str) -> None:
        self.runtime = runtime
        self.name = f"poller-{runtime.spec.logical_id}-{source}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)

    def start(self) -> None:
        """Start the polling thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to finish its current batch and exit."""
        self._stopping.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to exit."""
        self._thread.join(timeout)

    def _loop(self) -> None:
        """Poll until stopped; errors of the emulator are logged, never fatal."""
        while not self._stopping.is_set():
            try:
                busy = self.poll_once()
            except Exception:
                logger.exception("%s: polling failed, retrying", self.name)
                busy = False
                self._stopping.wait(1.0)
            if not busy:
                self._stopping.wait(IDLE_INTERVAL_SECONDS)

    def poll_once(self) -> bool:
        """Poll once; return True when there was something to process."""
        raise NotImplementedError


class _Shard:
    """Where a stream poller is in one shard, and how its current batch is failing."""

    def __init__(self, shard_id: str, parent_id: str | None, iterator: str) -> None:
        self.shard_id = shard_id
        self.parent_id = parent_id
        self.iterator: str | None = iterator
        self.failing_sequence: str | None = None
        self.attempts = 0
        self.last_sequence: str | None = None  # of the last record read
        self.idle_reads = 0


class StreamPoller(Poller):
    """DynamoDB stream -> function, with FilterCriteria, partial failures and retries."""

    def __init__(self, runtime: FunctionRuntime, properties: dict[str, Any]) -> None:
        super().__init__(runtime, "stream")
        self.stream_arn: str = properties["Stream"]
        self.batch_size = int(properties.get("BatchSize", 100))
        self.starting_position: Any = properties.get("StartingPosition", "TRIM_HORIZON")
        self.patterns = parse_filters(properties.get("FilterCriteria"))
        self.report_failures = "ReportBatchItemFailures" in properties.get(
            "FunctionResponseTypes", []
        )
        self.max_retries = int(properties.get("MaximumRetryAttempts", -1))
        self._client = boto3.client("dynamodbstreams")
        self._shards: dict[str, _Shard] = {}
        self._finished: set[str] = set()
        self._next_refresh = 0.0

    def _refresh_shards(self) -> None:
        """Pick up shards we have not seen (moto may open new ones)."""
        described = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in described.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._shards or shard_id in self._finished:
                continue
            position: Any = "TRIM_HORIZON" if shard.get("ParentShardId") else self.starting_position
            iterator = self._client.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]
            self._shards[shard_id] = _Shard(shard_id, shard.get("ParentShardId"), iterator)

    def poll_once(self) -> bool:
        """Read one batch from every open shard (parents before children)."""
        now = time.monotonic()
        if now >= self._next_refresh:
            self._refresh_shards()
            self._next_refresh = now + SHARD_REFRESH_SECONDS
        busy = False
        for shard in list(self._shards.values()):
            if shard.parent_id in self._shards:
                continue  # Lambda finishes a parent shard before its children
            busy = self._poll_shard(shard) or busy
        return busy

    def _poll_shard(self, shard: _Shard) -> bool:
        """Read and process one batch of one shard; return True if it had records."""
        assert shard.iterator is not None
        response = self._client.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
        forget_shard_iterator(shard.iterator)
        records = response.get("Records", [])
        shard.iterator = response.get("NextShardIterator")
        if not records:
            self._renew_when_idle(shard)
        if records:
            shard.idle_reads = 0
            retry_at = self._process(records)
            if retry_at is not None:
                shard.last_sequence = None  # renew only from a record that was handled
                self._schedule_retry(shard, retry_at, response.get("NextShardIterator"))
            else:
                shard.failing_sequence, shard.attempts = None, 0
                shard.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        if shard.iterator is None:
            logger.info("%s: shard %s closed", self.name, shard.shard_id)
            self._finished.add(shard.shard_id)
            del self._shards[shard.shard_id]
        return bool(records)

    def _renew_when_idle(self, shard: _Shard) -> None:
        """After a while without records, read on from a fresh iterator.

        Seen under load with moto: an iterator that keeps answering nothing
        although the shard has grown past it. A new iterator after the last
        record read costs one call every few seconds of idleness and resumes.
        """
        shard.idle_reads += 1
        if shard.idle_reads < RENEW_AFTER_IDLE_READS or shard.last_sequence is None:
            return
        shard.idle_reads = 0
        if shard.iterator:
            forget_shard_iterator(shard.iterator)
        shard.iterator = self._client.get_shard_iterator(
            StreamArn=self.stream_arn,
            ShardId=shard.shard_id,
            ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            SequenceNumber=shard.last_sequence,
        )["ShardIterator"]

    def _process(self, records: Sequence[Mapping[str, Any]]) -> str | None:
        """Invoke the function on the records that pass the filters; return a retry point."""
        events = [stream_record(r, self.stream_arn) for r in records]
        batch = [e for e in events if passes(self.patterns, e)]
        if not batch:
            return None
        first = batch[0]["dynamodb"]["SequenceNumber"]
        try:
            result = self.runtime.invoke({"Records": batch})
        except Exception:
            logger.exception("%s: handler failed on a batch of %d", self.name, len(batch))
            return str(first)
        if not self.report_failures:
            return None
        sequence_numbers = [e["dynamodb"]["SequenceNumber"] for e in batch]
        failed = failed_item_ids(result, set(sequence_numbers))
        if failed is None:
            logger.warning("%s: invalid batchItemFailures %r: whole batch", self.name, result)
            return str(first)
        if not failed:
            return None
        return next(seq for seq in sequence_numbers if seq in failed)

    def _schedule_retry(self, shard: _Shard, sequence: str, next_iterator: str | None) -> None:
        """Re-read from the failed record after a backoff, or give up after max retries."""
        if shard.failing_sequence == sequence:
            shard.attempts += 1
        else:
            shard.failing_sequence, shard.attempts = sequence, 1
        if 0 <= self.max_retries < shard.attempts:
            logger.error(
                "%s: giving up on records from sequence %s after %d retries; on AWS they "
                "would go to the on-failure destination (none configured locally)",
                self.name,
                sequence,
                self.max_retries,
            )
            shard.failing_sequence, shard.attempts = None, 0
            shard.iterator = next_iterator
            return
        self._stopping.wait(backoff_seconds(shard.attempts))
        if next_iterator:
            forget_shard_iterator(next_iterator)
        shard.iterator = self._client.get_shard_iterator(
            StreamArn=self.stream_arn,
            ShardId=shard.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=sequence,
        )["ShardIterator"]


class SqsPoller(Poller):
    """SQS queue -> function: deletes what succeeded; failures reappear after visibility."""

    def __init__(self, runtime: FunctionRuntime, properties: dict[str, Any]) -> None:
        super().__init__(runtime, "sqs")
        self.queue_arn: str = properties["Queue"]
        self.batch_size = min(int(properties.get("BatchSize", 10)), 10)
        self.patterns = parse_filters(properties.get("FilterCriteria"))
        self.report_failures = "ReportBatchItemFailures" in properties.get(
            "FunctionResponseTypes", []
        )
        self._client = boto3.client("sqs")
        self.queue_url = self._client.get_queue_url(QueueName=self.queue_arn.split(":")[-1])[
            "QueueUrl"
        ]

    def poll_once(self) -> bool:
        """Long-poll one batch (1 s), invoke, delete the successes."""
        messages = self._client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        records = [sqs_record(m, self.queue_arn) for m in messages]
        batch = [r for r in records if passes(self.patterns, _filterable(r))]
        done = {r["messageId"] for r in records} - {r["messageId"] for r in batch}
        done |= self._invoke(batch) if batch else set()
        self._delete_messages([r for r in records if r["messageId"] in done])
        return True

    def _invoke(self, batch: list[dict[str, Any]]) -> set[str]:
        """Invoke on a batch; return the message ids that succeeded."""
        ids = {r["messageId"] for r in batch}
        try:
            result = self.runtime.invoke({"Records": batch})
        except Exception:
            logger.exception("%s: handler failed on a batch of %d", self.name, len(batch))
            return set()
        if not self.report_failures:
            return ids
        failed = failed_item_ids(result, ids)
        if failed is None:
            logger.warning("%s: invalid batchItemFailures %r: whole batch", self.name, result)
            return set()
        return ids - failed

    def _delete_messages(self, records: list[dict[str, Any]]) -> None:
        """Delete processed messages from the queue."""
        if not records:
            return
        response = self._client.delete_message_batch(
            QueueUrl=self.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)
            ],
        )
        for failure in response.get("Failed", []):
            logger.warning("%s: could not delete message: %s", self.name, failure)


def _filterable(record: dict[str, Any]) -> dict[str, Any]:
    """An SQS record as Lambda filters it: the body parsed when it is JSON."""
    try:
        return {**record, "body": json.loads(record["body"])}
    except ValueError:
        return record
