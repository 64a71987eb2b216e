"""The delivery ports kept in the Views table: destinations and delivery leases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.delivery.destinations import DestinationDirectory
from formrelay.delivery.leases import DeliveryLeases
from formrelay.domain.clock import Clock
from formrelay.domain.destinations import Destination
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed
from formrelay.tables.destination_items import destination_from_item, destination_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDBDestinationDirectory(ViewsTableAdapter, DestinationDirectory):
    """Destinations as items of their tenant's partition, beside their form."""

    def _key(self, tenant_id: str, form_id: str, destination_id: str) -> dict[str, Any]:
        return {
            "pk": {"S": vk.tenant_pk(tenant_id)},
            "sk": {"S": vk.destination_sk(form_id, destination_id)},
        }

    def _read(self, tenant_id: str, form_id: str, destination_id: str) -> Destination | None:
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key=self._key(tenant_id, form_id, destination_id),
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else destination_from_item(item)

    def _write(self, destination: Destination) -> None:
        self.dynamodb.put_item(TableName=self.views_table, Item=destination_item(destination))

    def _remove(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        answer = self.dynamodb.delete_item(
            TableName=self.views_table,
            Key=self._key(tenant_id, form_id, destination_id),
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in answer

    def _mark_disabled(
        self, tenant_id: str, form_id: str, destination_id: str, reason: str
    ) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.views_table,
                Key=self._key(tenant_id, form_id, destination_id),
                UpdateExpression="SET enabled = :false, disabled_reason = :reason",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":false": {"BOOL": False}, ":reason": {"S": reason}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def _mark_enabled(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.views_table,
                Key=self._key(tenant_id, form_id, destination_id),
                UpdateExpression="SET enabled = :true REMOVE disabled_reason",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True


class DynamoDBDeliveryLeases(ViewsTableAdapter, DeliveryLeases):
    """Leases as conditional puts in the Views table."""

    def __init__(
        self,
        views_table: str,
        dynamodb: DynamoDBClient | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        ViewsTableAdapter.__init__(self, views_table, dynamodb)
        DeliveryLeases.__init__(self, clock)

    def _key(self, tenant_id: str, delivery_id: str) -> dict[str, Any]:
        return {"pk": {"S": vk.lease_pk(tenant_id, delivery_id)}, "sk": {"S": vk.LEASE_SK}}

    def _put_if_free(
        self, tenant_id: str, delivery_id: str, token: str, *, expires_at: int, now: int
    ) -> bool:
        return self.put_unless_live(
            {
                **self._key(tenant_id, delivery_id),
                "tenant_id": {"S": tenant_id},
                "token": {"S": token},
                "expires_at": {"N": str(expires_at)},
            },
            now=now,
        )

    def _delete_if_holder(self, tenant_id: str, delivery_id: str, token: str) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.views_table,
                Key=self._key(tenant_id, delivery_id),
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
