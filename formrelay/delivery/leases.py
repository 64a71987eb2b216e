"""Delivery leases: at most one attempt of a delivery in flight, whatever SQS or a retry does.

A lease is a conditional put with an expiry (checked in the condition, never
left to TTL). A connector that dies holding one only delays the next attempt
until the lease runs out.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from formrelay.domain.errors import FormrelayError
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    pass


class DeliveryBusyError(FormrelayError):
    """Another attempt of this delivery is in flight: try again later."""


class DeliveryLeases(ViewsTableAdapter):
    """Takes and gives back delivery leases in the Views table."""

    def acquire(self, tenant_id: str, delivery_id: str, seconds: float) -> str:
        """Take the lease for `seconds`; its token, or DeliveryBusyError."""
        token = secrets.token_hex(8)
        now = time.time()
        try:
            self.dynamodb.put_item(
                TableName=self.views_table,
                Item={
                    "pk": {"S": vk.lease_pk(tenant_id, delivery_id)},
                    "sk": {"S": vk.LEASE_SK},
                    "tenant_id": {"S": tenant_id},
                    "token": {"S": token},
                    "expires_at": {"N": str(int(now + seconds) + 1)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise DeliveryBusyError(f"delivery {delivery_id} is in flight") from exc
            raise
        return token

    def release(self, tenant_id: str, delivery_id: str, token: str) -> None:
        """Give the lease back (only if still ours)."""
        try:
            self.dynamodb.delete_item(
                TableName=self.views_table,
                Key={"pk": {"S": vk.lease_pk(tenant_id, delivery_id)}, "sk": {"S": vk.LEASE_SK}},
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
