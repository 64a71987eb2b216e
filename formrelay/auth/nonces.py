"""Used nonces: a conditional put per (tenant, key, nonce), with an expiry checked on read.

DynamoDB TTL deletes expired items days late (and moto never), so the
condition treats an item whose expiry has passed as free, and no code relies
on the item being gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    pass


class NonceStore(ViewsTableAdapter):
    """Claims nonces once per key within their lifetime."""

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
            if condition_failed(exc):
                return False
            raise
        return True
