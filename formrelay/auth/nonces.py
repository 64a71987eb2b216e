"""Used nonces: a conditional put per (tenant, key, nonce), with an expiry checked on read.

DynamoDB TTL deletes expired items days late (and moto never), so the
condition treats an item whose expiry has passed as free, and no code relies
on the item being gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from formrelay.views import keys as vk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class NonceStore:
    """Claims nonces once per key within their lifetime."""

    def __init__(self, views_table: str, dynamodb: DynamoDBClient | None = None) -> None:
        self.views_table = views_table
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The DynamoDB client, built on first use."""
        if self._dynamodb is None:
            self._dynamodb = boto3.client("dynamodb")
        return self._dynamodb

    def claim(self, tenant_id: str, key_id: str, nonce: str, *, now: int, expires_at: int) -> bool:
        """True if the nonce was free (and is now used until expires_at), False if replayed."""
        try:
            self.dynamodb.put_item(
                TableName=self.views_table,
                Item={
                    "pk": {"S": vk.nonce_pk(tenant_id, key_id, nonce)},
                    "sk": {"S": vk.NONCE_SK},
                    "tenant_id": {"S": tenant_id},
                    "expires_at": {"N": str(expires_at)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
