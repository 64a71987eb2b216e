"""The DynamoDB event store: one item per event, conditional writes, no overwrite ever."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.store.items import from_item, stream_key, tenant_index_pk, to_item
from formrelay.store.port import EventStore, VersionTakenError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_NOT_TAKEN = "attribute_not_exists(pk)"
# The tenant index (template: EventsTable's gsi1).
TENANT_INDEX = "gsi1"


class DynamoDBEventStore(EventStore):
    """Streams as partitions (`T#tenant#S#submission`), versions as sort keys."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        """The DynamoDB client, built on first use."""
        if self._client is None:
            import boto3  # loads on the first client, not at import

            self._client = boto3.client("dynamodb")
        return self._client

    def _load(self, stream: StreamId) -> list[RecordedEvent]:
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": stream_key(stream)}},
            ConsistentRead=True,
        )
        return [from_item(item) for page in pages for item in page.get("Items", [])]

    def _index_range(
        self, tenant_id: str, shard: int, lower: str, upper: str, limit: int
    ) -> tuple[list[RecordedEvent], bool]:
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": TENANT_INDEX,
            "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :lower AND :upper",
            "ExpressionAttributeValues": {
                ":pk": {"S": tenant_index_pk(tenant_id, shard)},
                ":lower": {"S": lower},
                ":upper": {"S": upper},
            },
            # One more than asked says whether more lie in the range, without a second query.
            "Limit": limit + 1,
        }
        items: list[dict[str, Any]] = []
        while True:
            answer = self.client.query(**arguments)
            items.extend(answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if len(items) > limit or last is None:
                break
            arguments["ExclusiveStartKey"] = last
        more = len(items) > limit
        return [from_item(item) for item in items[:limit]], more

    def _insert(self, events: Sequence[RecordedEvent]) -> None:
        items = [to_item(event) for event in events]
        try:
            if len(items) == 1:
                self.client.put_item(
                    TableName=self.table_name, Item=items[0], ConditionExpression=_NOT_TAKEN
                )
            else:
                self.client.transact_write_items(
                    TransactItems=[
                        {"Put": _conditional_put(self.table_name, item)} for item in items
                    ]
                )
        except ClientError as exc:
            if _version_taken(exc):
                raise VersionTakenError(events[0].version) from exc
            raise


def _conditional_put(table_name: str, item: dict[str, Any]) -> Any:
    return {"TableName": table_name, "Item": item, "ConditionExpression": _NOT_TAKEN}


def _version_taken(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons", [])
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)
    return False
