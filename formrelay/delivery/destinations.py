"""Destinations in the Views table: one item per destination of a form."""

from __future__ import annotations

import hashlib
from typing import Any

from formrelay.domain.destinations import Destination
from formrelay.domain.ids import DESTINATION_ID, FORM_ID, check
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter
from formrelay.tables.destination_items import destination_from_item, destination_item


def delivery_id(tenant_id: str, submission_id: str, destination_id: str) -> str:
    """The id of one (submission, destination) delivery: stable across every retry."""
    seed = f"{tenant_id}\n{submission_id}\n{destination_id}".encode()
    return "msg_" + hashlib.sha256(seed).hexdigest()[:32]


class DestinationDirectory(ViewsTableAdapter):
    """Reads and writes destinations in the Views table."""

    def _key(self, tenant_id: str, form_id: str, destination_id: str) -> dict[str, Any]:
        return {
            "pk": {"S": vk.tenant_pk(tenant_id)},
            "sk": {"S": vk.destination_sk(form_id, destination_id)},
        }

    def get(self, tenant_id: str, form_id: str, destination_id: str) -> Destination | None:
        """One destination, or None."""
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key=self._key(tenant_id, form_id, destination_id),
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else destination_from_item(item)

    def put(self, destination: Destination) -> None:
        """Create or replace a destination."""
        check(FORM_ID, destination.form_id, "form id")
        check(DESTINATION_ID, destination.destination_id, "destination id")
        self.dynamodb.put_item(TableName=self.views_table, Item=destination_item(destination))

    def delete(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        """Remove a destination; True if it existed."""
        answer = self.dynamodb.delete_item(
            TableName=self.views_table,
            Key=self._key(tenant_id, form_id, destination_id),
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in answer

    def disable(self, tenant_id: str, form_id: str, destination_id: str, reason: str) -> None:
        """Stop deliveries to a destination until it is re-enabled (by a PUT)."""
        self.dynamodb.update_item(
            TableName=self.views_table,
            Key=self._key(tenant_id, form_id, destination_id),
            UpdateExpression="SET enabled = :false, disabled_reason = :reason",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":false": {"BOOL": False}, ":reason": {"S": reason}},
        )
