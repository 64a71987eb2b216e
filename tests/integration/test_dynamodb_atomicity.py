"""The emulated DynamoDB stream hands every write to a reader exactly once, under concurrency."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
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


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in this process, as the local stack's functions reach it; threads switch often."""
    dynamodb_atomicity.install()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # makes the interleaving that used to break reads likely
    try:
        with mock_aws():
            yield
    finally:
        sys.setswitchinterval(interval)


@pytest.mark.usefixtures("in_process")
def test_scans_hold_while_writes_add_partitions() -> None:
    # Given a table that writers keep adding partitions to
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="growing",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    writing = threading.Event()
    errors: list[Exception] = []

    def write(writer: int) -> None:
        client = boto3.client("dynamodb")
        for n in range(PUTS):
            item = {"pk": {"S": f"{writer}-{n}"}, "sk": {"S": "a"}}
            client.put_item(TableName="growing", Item=item)
        writing.clear()

    def read() -> None:
        client = boto3.client("dynamodb")
        while writing.is_set():
            try:
                client.scan(TableName="growing", Limit=5)
            except Exception as exc:  # what a reader would see: collected, then asserted on
                errors.append(exc)

    # When readers scan meanwhile
    writing.set()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    threads += [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then no read failed ("dictionary changed size during iteration" without the lock)
    assert errors == []
