"""Destinations: where a form's submissions are delivered."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from formrelay.domain.ids import DESTINATION_ID, FORM_ID, check
from formrelay.views import keys as vk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Destination:
    """One webhook a form delivers to."""

    tenant_id: str
    form_id: str
    destination_id: str
    url: str
    enabled: bool = True
    timeout_seconds: float = 10.0

    def to_item(self) -> dict[str, Any]:
        """The destination's Views item."""
        return {
            "pk": {"S": vk.tenant_pk(self.tenant_id)},
            "sk": {"S": vk.destination_sk(self.form_id, self.destination_id)},
            "kind": {"S": "destination"},
            "tenant_id": {"S": self.tenant_id},
            "form_id": {"S": self.form_id},
            "destination_id": {"S": self.destination_id},
            "url": {"S": self.url},
            "enabled": {"BOOL": self.enabled},
            "timeout_seconds": {"N": str(self.timeout_seconds)},
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Destination:
        """A destination from its Views item."""
        return cls(
            tenant_id=item["tenant_id"]["S"],
            form_id=item["form_id"]["S"],
            destination_id=item["destination_id"]["S"],
            url=item["url"]["S"],
            enabled=item.get("enabled", {}).get("BOOL", True),
            timeout_seconds=float(item.get("timeout_seconds", {}).get("N", "10")),
        )


def delivery_id(tenant_id: str, submission_id: str, destination_id: str) -> str:
    """The id of one (submission, destination) delivery: stable across every retry."""
    seed = f"{tenant_id}\n{submission_id}\n{destination_id}".encode()
    return "msg_" + hashlib.sha256(seed).hexdigest()[:32]


class DestinationDirectory:
    """Reads and writes destinations in the Views table."""

    def __init__(self, views_table: str, dynamodb: DynamoDBClient | None = None) -> None:
        self.views_table = views_table
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The DynamoDB client, built on first use."""
        if self._dynamodb is None:
            self._dynamodb = boto3.client("dynamodb")
        return self._dynamodb

    def get(self, tenant_id: str, form_id: str, destination_id: str) -> Destination | None:
        """One destination, or None."""
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key={
                "pk": {"S": vk.tenant_pk(tenant_id)},
                "sk": {"S": vk.destination_sk(form_id, destination_id)},
            },
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else Destination.from_item(item)

    def put(self, destination: Destination) -> None:
        """Create or replace a destination."""
        check(FORM_ID, destination.form_id, "form id")
        check(DESTINATION_ID, destination.destination_id, "destination id")
        self.dynamodb.put_item(TableName=self.views_table, Item=destination.to_item())
