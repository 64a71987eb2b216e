"""A query of the emulated DynamoDB answers as moto's own does, reading only its partition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.dynamodb.models.table import Table

from formrelay.local import dynamodb_partitions

KEYS = st.sampled_from(["a", "b", "c#1", "T#x#S#1"])
SORTS = st.text(alphabet="ab01#", min_size=1, max_size=4)
ITEMS = st.lists(
    st.fixed_dictionaries(
        {"pk": KEYS, "sk": SORTS},
        optional={"g": KEYS, "gs": SORTS, "n": st.integers(0, 3)},
    ),
    max_size=30,
)
QUERIES = st.fixed_dictionaries(
    {
        "index": st.booleans(),
        "key": KEYS,
        "prefix": st.none() | st.text(alphabet="ab01#", max_size=2),
        "forward": st.booleans(),
        "limit": st.none() | st.integers(1, 5),
    }
)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    dynamodb_partitions.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "g", "gs")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "gs", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _pages(client: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the query, followed to its end."""
    hash_name, range_name = ("g", "gs") if query["index"] else ("pk", "sk")
    arguments: dict[str, Any] = {
        "TableName": "t",
        "KeyConditionExpression": f"{hash_name} = :h",
        "ExpressionAttributeValues": {":h": {"S": query["key"]}},
        "ScanIndexForward": query["forward"],
    }
    if query["index"]:
        arguments["IndexName"] = "gsi"
    if query["prefix"]:
        arguments["KeyConditionExpression"] += f" AND begins_with({range_name}, :p)"
        arguments["ExpressionAttributeValues"][":p"] = {"S": query["prefix"]}
    if query["limit"]:
        arguments["Limit"] = query["limit"]
    pages = []
    while True:
        answer = client.query(**arguments)
        pages.append({k: answer.get(k) for k in ("Items", "Count", "LastEvaluatedKey")})
        if "LastEvaluatedKey" not in answer or len(pages) > 40:
            return pages
        arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _as_moto_answers(client: Any, query: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as original:
        original.setattr(Table, "query", dynamodb_partitions.MOTO_QUERY)
        original.setattr(Table, "all_items", dynamodb_partitions.MOTO_ALL_ITEMS)
        return _pages(client, query)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=ITEMS, queries=st.lists(QUERIES, min_size=1, max_size=4))
def test_every_query_answers_what_moto_answers(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch, items: list[dict[str, Any]], queries: Any
) -> None:
    for item in items:
        dynamodb.put_item(
            TableName="t",
            Item={k: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for k, v in item.items()},
        )
    try:
        for query in queries:
            assert _pages(dynamodb, query) == _as_moto_answers(dynamodb, query, monkeypatch)
    finally:
        for item in items:
            dynamodb.delete_item(
                TableName="t", Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}
            )


def test_a_partition_is_found_among_many(dynamodb: Any) -> None:
    for n in range(300):
        dynamodb.put_item(
            TableName="t",
            Item={
                "pk": {"S": f"p{n % 30}"},
                "sk": {"S": f"{n:04d}"},
                "g": {"S": f"g{n % 7}"},
                "gs": {"S": "x"},
            },
        )

    table = dynamodb.query(
        TableName="t",
        KeyConditionExpression="pk = :h",
        ExpressionAttributeValues={":h": {"S": "p3"}},
    )["Items"]
    index = dynamodb.query(
        TableName="t",
        IndexName="gsi",
        KeyConditionExpression="g = :h",
        ExpressionAttributeValues={":h": {"S": "g2"}},
    )["Items"]

    assert [i["sk"]["S"] for i in table] == [f"{n:04d}" for n in range(3, 300, 30)]
    assert sorted(i["sk"]["S"] for i in index) == [f"{n:04d}" for n in range(2, 300, 7)]
