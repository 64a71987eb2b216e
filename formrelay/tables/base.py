"""What every adapter over the Views table shares: its name, a lazy client, condition checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class ViewsTableAdapter:
    """An adapter over the Views table; its DynamoDB client is built on first use."""

    def __init__(self, views_table: str, dynamodb: DynamoDBClient | None = None) -> None:
        self.views_table = views_table
        self._dynamodb = dynamodb

    def put_unless_live(self, item: dict[str, Any], *, now: int) -> bool:
        """Put item unless a live one holds its key (one whose expires_at is not yet past).

        DynamoDB TTL deletes expired items days late (and moto never): an expired
        item counts as free, so nothing relies on it being gone. False if held.
        """
        try:
            self.dynamodb.put_item(
                TableName=self.views_table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The DynamoDB client, built on first use."""
        if self._dynamodb is None:
            import boto3  # loads on the first client, not at import

            self._dynamodb = boto3.client("dynamodb")
        return self._dynamodb


def condition_failed(exc: ClientError) -> bool:
    """Whether a write was refused by its condition expression."""
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def refused_as_invalid(exc: ClientError) -> bool:
    """Whether DynamoDB refused a request as malformed (never retried: it cannot succeed)."""
    return exc.response.get("Error", {}).get("Code") == "ValidationException"
