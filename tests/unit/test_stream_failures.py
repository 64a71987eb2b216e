"""What a local stream mapping gives up on, and the record it parks on its failure queue."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from formrelay.local.pollers import (
    RECORD_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    expired_prefix,
    on_failure_record,
)

NOW = 1_800_000_000.0
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-12-03T00:00:00.000"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:formrelay-StatusViewFunction"


def _record(sequence: int, arrived: float) -> dict[str, Any]:
    return {"dynamodb": {"SequenceNumber": str(sequence), "ApproximateCreationDateTime": arrived}}


ages = st.lists(st.integers(min_value=0, max_value=100_000), max_size=20)


@given(ages=ages, max_age=st.integers(min_value=60, max_value=604_800))
def test_only_the_records_past_the_age_limit_at_the_head_of_a_batch_expire(
    ages: list[int], max_age: int
) -> None:
    batch = [_record(n, NOW - age) for n, age in enumerate(sorted(ages, reverse=True))]
    expired = expired_prefix(batch, max_age, NOW)
    assert expired == batch[: len(expired)]
    assert all(NOW - r["dynamodb"]["ApproximateCreationDateTime"] > max_age for r in expired)
    rest = batch[len(expired) :]
    assert not rest or NOW - rest[0]["dynamodb"]["ApproximateCreationDateTime"] <= max_age


@given(ages=ages)
def test_without_an_age_limit_nothing_expires(ages: list[int]) -> None:
    batch = [_record(n, NOW - age) for n, age in enumerate(ages)]
    assert expired_prefix(batch, -1, NOW) == []


def test_the_on_failure_record_names_the_batch_as_lambda_does() -> None:
    batch = [_record(101, NOW - 30), _record(102, NOW - 20), _record(105, NOW - 10)]
    record = on_failure_record(
        batch,
        shard_id="shardId-0001",
        stream_arn=STREAM,
        function_arn=FUNCTION,
        condition=RETRIES_EXHAUSTED,
        invoke_count=11,
        function_error=True,
    )
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    context = record["requestContext"]
    assert context["functionArn"] == FUNCTION and context["condition"] == RETRIES_EXHAUSTED
    assert context["approximateInvokeCount"] == 11 and context["requestId"]
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["DDBStreamBatchInfo"] == {
        "shardId": "shardId-0001",
        "startSequenceNumber": "101",
        "endSequenceNumber": "105",
        "approximateArrivalOfFirstRecord": "2027-01-15T07:59:30.000Z",
        "approximateArrivalOfLastRecord": "2027-01-15T07:59:50.000Z",
        "batchSize": 3,
        "streamArn": STREAM,
    }
    assert "Records" not in record  # the events stay in the stream and the event store


def test_an_expired_batch_was_never_invoked_so_its_record_has_no_response() -> None:
    record = on_failure_record(
        [_record(7, NOW - 90_000)],
        shard_id="shardId-0001",
        stream_arn=STREAM,
        function_arn=FUNCTION,
        condition=RECORD_AGE_EXCEEDED,
        invoke_count=0,
        function_error=False,
    )
    assert record["requestContext"]["condition"] == RECORD_AGE_EXCEEDED
    assert "responseContext" not in record
