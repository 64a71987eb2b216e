"""Event source mappings, locally: poll DynamoDB streams and SQS, invoke functions."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
        self.limit: int | None = None  # a bisected batch's size, until it gets through


# Why a stream mapping gave up on a batch, as Lambda's on-failure record says it.
RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


@dataclass(frozen=True)
class _Outcome:
    """How one invocation on a batch went: where to retry from (None: all done), whether
    the function itself failed (an error, not a partial batch response), and the records
    from the retry point on, which are what the mapping gives up on when it does."""

    retry_from: str | None
    function_error: bool = False
    pending: Sequence[Mapping[str, Any]] = ()


def expired_prefix(
    batch: Sequence[Mapping[str, Any]], max_age: int, now: float
) -> list[Mapping[str, Any]]:
    """The records at the head of a batch that arrived more than max_age seconds before
    now (-1: no limit). A stream is in arrival order, so these are all of them that
    Lambda gives up on unread; the first young enough record and those after it stay."""
    if max_age < 0:
        return []
    expired: list[Mapping[str, Any]] = []
    for event in batch:
        if float(event["dynamodb"].get("ApproximateCreationDateTime", now)) >= now - max_age:
            break
        expired.append(event)
    return expired


def _timestamp(seconds: float) -> str:
    """Epoch seconds as the ISO 8601 UTC text Lambda's records carry."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def on_failure_record(
    records: Sequence[Mapping[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    function_error: bool,
) -> dict[str, Any]:
    """The invocation record Lambda sends a stream mapping's OnFailure destination: what
    the batch was (shard, first and last sequence numbers, arrivals, size), never the
    records themselves; a consumer re-reads them from the stream by sequence number."""
    arrivals = [float(r["dynamodb"].get("ApproximateCreationDateTime", 0)) for r in records]
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "version": "1.0",
        "timestamp": _timestamp(time.time()),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _timestamp(arrivals[0]),
            "approximateArrivalOfLastRecord": _timestamp(arrivals[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
    if condition == RETRIES_EXHAUSTED:
        record["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled" if function_error else "",
        }
    return record


class StreamPoller(Poller):
    """DynamoDB stream -> function, with FilterCriteria, partial failures and retries."""

    def __init__(
        self, runtime: FunctionRuntime, properties: dict[str, Any], streams: Any = None
    ) -> None:
        """streams: what answers the DynamoDB Streams calls (default a boto3 client;
        formrelay.local.stream_reads when moto runs in this process)."""
        super().__init__(runtime, "stream")
        self.stream_arn: str = properties["Stream"]
        self.batch_size = int(properties.get("BatchSize", 100))
        self.starting_position: Any = properties.get("StartingPosition", "TRIM_HORIZON")
        self.patterns = parse_filters(properties.get("FilterCriteria"))
        self.report_failures = "ReportBatchItemFailures" in properties.get(
            "FunctionResponseTypes", []
        )
        self.max_retries = int(properties.get("MaximumRetryAttempts", -1))
        self.max_age = int(properties.get("MaximumRecordAgeInSeconds", -1))
        self.bisect = bool(properties.get("BisectBatchOnFunctionError", False))
        self._on_failure = _failure_queue_url(properties)
        self._client = boto3.client("dynamodbstreams") if streams is None else streams
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
        limit = shard.limit or self.batch_size
        response = self._client.get_records(ShardIterator=shard.iterator, Limit=limit)
        forget_shard_iterator(shard.iterator)
        records = response.get("Records", [])
        shard.iterator = response.get("NextShardIterator")
        if not records:
            self._renew_when_idle(shard)
        if records:
            shard.idle_reads = 0
            outcome = self._process(shard, records)
            if outcome.retry_from is not None:
                shard.last_sequence = None  # renew only from a record that was handled
                self._schedule_retry(shard, outcome, response.get("NextShardIterator"))
            else:
                shard.failing_sequence, shard.attempts, shard.limit = None, 0, None
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

    def _process(self, shard: _Shard, records: Sequence[Mapping[str, Any]]) -> _Outcome:
        """Invoke the function on the records that pass the filters (records past the
        mapping's age limit are given up on first, uninvoked); return how it went."""
        events = [stream_record(r, self.stream_arn) for r in records]
        batch = [e for e in events if passes(self.patterns, e)]
        expired = self._expired(batch)
        if expired:
            self._give_up(shard, expired, RECORD_AGE_EXCEEDED, 0, function_error=False)
            batch = batch[len(expired) :]
        if not batch:
            return _Outcome(None)
        first = str(batch[0]["dynamodb"]["SequenceNumber"])
        try:
            result = self.runtime.invoke({"Records": batch})
        except Exception:
            logger.exception("%s: handler failed on a batch of %d", self.name, len(batch))
            return _Outcome(first, function_error=True, pending=batch)
        if not self.report_failures:
            return _Outcome(None)
        sequence_numbers = [e["dynamodb"]["SequenceNumber"] for e in batch]
        failed = failed_item_ids(result, set(sequence_numbers))
        if failed is None:
            logger.warning("%s: invalid batchItemFailures %r: whole batch", self.name, result)
            return _Outcome(first, pending=batch)
        if not failed:
            return _Outcome(None)
        at = next(i for i, seq in enumerate(sequence_numbers) if seq in failed)
        return _Outcome(str(sequence_numbers[at]), pending=batch[at:])

    def _expired(self, batch: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The leading records of a batch older than MaximumRecordAgeInSeconds."""
        return expired_prefix(batch, self.max_age, time.time())

    def _give_up(
        self,
        shard: _Shard,
        records: Sequence[Mapping[str, Any]],
        condition: str,
        invoke_count: int,
        *,
        function_error: bool,
    ) -> None:
        """Send the batch's on-failure record to the mapping's OnFailure queue (or, with
        none configured, log that the records are skipped, as Lambda skips them)."""
        first = records[0]["dynamodb"]["SequenceNumber"]
        if self._on_failure is None:
            logger.error(
                "%s: giving up on %d records from sequence %s (%s); no OnFailure "
                "destination: they are skipped",
                self.name,
                len(records),
                first,
                condition,
            )
            return
        record = on_failure_record(
            records,
            shard_id=shard.shard_id,
            stream_arn=self.stream_arn,
            function_arn=self.runtime.spec.arn,
            condition=condition,
            invoke_count=invoke_count,
            function_error=function_error,
        )
        boto3.client("sqs").send_message(QueueUrl=self._on_failure, MessageBody=json.dumps(record))
        logger.warning(
            "%s: gave up on %d records from sequence %s (%s): parked on the failure queue",
            self.name,
            len(records),
            first,
            condition,
        )

    def _schedule_retry(self, shard: _Shard, outcome: _Outcome, next_iterator: str | None) -> None:
        """Re-read from the failed record after a backoff: a batch the function failed on
        in halves first when the mapping bisects (halving spends no retry), and past it
        after MaximumRetryAttempts, its on-failure record sent."""
        sequence = outcome.retry_from
        assert sequence is not None
        size = len(outcome.pending)
        if self.bisect and outcome.function_error and size > 1:
            shard.limit = max(size // 2, 1)
            shard.failing_sequence, shard.attempts = sequence, 0
        elif shard.failing_sequence == sequence:
            shard.attempts += 1
        else:
            shard.failing_sequence, shard.attempts = sequence, 1
        if 0 <= self.max_retries < shard.attempts:
            self._give_up(
                shard,
                outcome.pending,
                RETRIES_EXHAUSTED,
                shard.attempts,
                function_error=outcome.function_error,
            )
            shard.failing_sequence, shard.attempts, shard.limit = None, 0, None
            if len(outcome.pending) == 0 or next_iterator is None:
                shard.iterator = next_iterator
                return
            # Read on after the last record given up on (a bisected read may have
            # stopped short of what was fetched; nothing after it is lost).
            if next_iterator:
                forget_shard_iterator(next_iterator)
            shard.iterator = self._client.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard.shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=outcome.pending[-1]["dynamodb"]["SequenceNumber"],
            )["ShardIterator"]
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


def _failure_queue_url(properties: Mapping[str, Any]) -> str | None:
    """The URL of a stream mapping's OnFailure queue, if it has one (an SNS destination
    is not run locally: the records are then only logged)."""
    target = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if not target:
        return None
    if not str(target).startswith("arn:aws:sqs:"):
        logger.warning("OnFailure destination %s is not an SQS queue: not run locally", target)
        return None
    name = str(target).rsplit(":", 1)[-1]
    url: str = boto3.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    return url


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


# The shortest local interval of a schedule, however compressed the stack's clock: the
# anchor run, the one scheduled function, takes in only events 5 s old or older, so
# running it more often than that finds nothing new and only loads the stack.
SCHEDULE_MINIMUM_SECONDS = 5.0
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_seconds(expression: str) -> float:
    """The interval of a `rate(N unit)` schedule, in seconds; ValueError for any other."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        raise ValueError(f"schedule {expression!r} is not run locally: only rate(N unit) is")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).removesuffix("s")]


class SchedulePoller(Poller):
    """Invokes a function on its `Schedule` event's rate, as EventBridge Scheduler does,
    with the event a scheduled rule sends; the interval is multiplied by the stack's time
    scale, like every other wait of the local stack, down to `minimum`."""

    def __init__(
        self,
        runtime: FunctionRuntime,
        properties: dict[str, Any],
        scale: float,
        minimum: float = SCHEDULE_MINIMUM_SECONDS,
    ) -> None:
        super().__init__(runtime, "schedule")
        self.interval = max(schedule_seconds(str(properties["Schedule"])) * scale, minimum)
        self._due = time.monotonic() + self.interval

    def poll_once(self) -> bool:
        """Invoke once the interval has passed since the last invocation."""
        if time.monotonic() < self._due:
            return False
        self._due = time.monotonic() + self.interval
        try:
            self.runtime.invoke(scheduled_event(self.runtime.spec.name))
        except Exception:
            logger.exception("%s: the scheduled invocation failed", self.name)
        return False


def scheduled_event(function_name: str) -> dict[str, Any]:
    """The event a scheduled rule sends (detail-type "Scheduled Event", source aws.events)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now,
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{function_name}-schedule"],
        "detail": {},
    }
