"""Stream reads straight from moto's backend answer as boto3's DynamoDB Streams calls do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from formrelay.local.lambda_events import stream_record
from formrelay.local.stream_reads import InProcessStreamReads, StreamReadError

ITEM = {
    "pk": {"S": "T#t1#S#s1"},
    "sk": {"S": "V#0000000001"},
    "blob": {"B": b"\x00\x01binary"},
    "count": {"N": "1.5"},
    "data": {"M": {"list": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}]}}},
    "tags": {"SS": ["a", "b"]},
}


@pytest.fixture()
def stream_arn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Given a table with a NEW_IMAGE stream, one item put, one updated and one deleted."""
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="events",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        dynamodb.put_item(TableName="events", Item=ITEM)
        dynamodb.put_item(TableName="events", Item={**ITEM, "count": {"N": "2"}})
        dynamodb.delete_item(TableName="events", Key={"pk": ITEM["pk"], "sk": ITEM["sk"]})
        yield dynamodb.describe_table(TableName="events")["Table"]["LatestStreamArn"]


def _read(reader: Any, stream_arn: str, position: str, **at: str) -> dict[str, Any]:
    shard = reader.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = reader.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType=position, **at
    )["ShardIterator"]
    answer: dict[str, Any] = reader.get_records(ShardIterator=iterator, Limit=10)
    return answer


def test_records_become_the_same_lambda_events_either_way(stream_arn: str) -> None:
    through_boto3 = _read(boto3.client("dynamodbstreams", "us-east-1"), stream_arn, "TRIM_HORIZON")
    in_process = _read(InProcessStreamReads(), stream_arn, "TRIM_HORIZON")

    def events(answer: dict[str, Any]) -> list[dict[str, Any]]:
        return [stream_record(record, stream_arn) for record in answer["Records"]]

    assert [e["eventName"] for e in events(in_process)] == ["INSERT", "MODIFY", "REMOVE"]
    assert events(in_process) == events(through_boto3)
    assert in_process["Records"][0]["dynamodb"]["ApproximateCreationDateTime"].tzinfo is not None


def test_reading_on_after_a_sequence_number_and_a_forgotten_iterator(stream_arn: str) -> None:
    reader = InProcessStreamReads()
    first = _read(reader, stream_arn, "TRIM_HORIZON")["Records"][0]["dynamodb"]["SequenceNumber"]
    after = _read(reader, stream_arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=first)
    assert [r["eventName"] for r in after["Records"]] == ["MODIFY", "REMOVE"]
    with pytest.raises(StreamReadError):
        reader.get_records(ShardIterator="not-an-iterator", Limit=10)
