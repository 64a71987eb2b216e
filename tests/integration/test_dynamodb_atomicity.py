"""The emulated DynamoDB stream hands every write to a reader exactly once, under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from formrelay.local import dynamodb_atomicity

WRITERS, PUTS = 6, 150


@pytest.fixture
def endpoint() -> Iterator[dict[str, Any]]:
    dynamodb_atomicity.install()
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield {
        "endpoint_url": f"http://{host}:{port}",
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    server.stop()


def test_concurrent_writes_reach_a_stream_reader_once_each(endpoint: dict[str, Any]) -> None:
    dynamodb = boto3.client("dynamodb", **endpoint)
    dynamodb.create_table(
        TableName="concurrent",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )

    def write(writer: int) -> None:
        client = boto3.client("dynamodb", **endpoint)
        for n in range(PUTS):
            client.put_item(TableName="concurrent", Item={"pk": {"S": f"{writer}-{n}"}})

    # When several writers put items at once
    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then a reader of the stream sees every item once, in distinct sequence numbers
    streams = boto3.client("dynamodbstreams", **endpoint)
    arn = dynamodb.describe_table(TableName="concurrent")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    keys, sequences = [], []
    while len(keys) < WRITERS * PUTS:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            break
        keys += [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]]
        sequences += [r["dynamodb"]["SequenceNumber"] for r in page["Records"]]
        iterator = page["NextShardIterator"]
    assert sorted(keys) == sorted(f"{w}-{n}" for w in range(WRITERS) for n in range(PUTS))
    assert len(set(sequences)) == len(sequences)
