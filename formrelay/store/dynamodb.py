"""The DynamoDB event store: one item per event, conditional writes, no overwrite ever."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.store.items import from_item, stream_key, tenant_index_pk, to_item
from formrelay.store.port import EventStore, VersionTakenError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_NOT_TAKEN = "attribute_not_exists(pk)"
# The tenant index (template: EventsTable's gsi1, keys only).
TENANT_INDEX = "gsi1"
# BatchGetItem takes at most 100 keys a call; unprocessed keys are asked for again.
_BATCH_GET_KEYS = 100
_BATCH_GET_TRIES = 8


class EventStoreBusyError(Exception):
    """The table kept some keys of a batch read unprocessed (throttled) after every try:
    as a throttling ClientError would, it fails the invocation, which is retried."""


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
        keys: list[dict[str, Any]] = []
        while True:
            answer = self.client.query(**arguments)
            keys.extend(answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if len(keys) > limit or last is None:
                break
            arguments["ExclusiveStartKey"] = last
        more = len(keys) > limit
        # The index holds keys only: the events themselves come from the table. One the
        # table no longer has (deleted, and the index not yet told) is left out.
        found = self._get_items([{"pk": k["pk"], "sk": k["sk"]} for k in keys[:limit]])
        named = [found.get((k["pk"]["S"], k["sk"]["S"])) for k in keys[:limit]]
        return [from_item(item) for item in named if item is not None], more

    def _get_items(self, keys: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The table's items at these keys, by (pk, sk): BatchGetItem, 100 keys a call,
        asking again for any the table left unprocessed (throttled) after a short wait."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(keys), _BATCH_GET_KEYS):
            pending: dict[str, Any] = {
                self.table_name: {
                    "Keys": keys[start : start + _BATCH_GET_KEYS],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(_BATCH_GET_TRIES):
                answer = self.client.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    found[(item["pk"]["S"], item["sk"]["S"])] = item
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))
            else:
                raise EventStoreBusyError(f"{self.table_name}: keys still unprocessed")
        return found

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
