"""Destinations: where a form's submissions are delivered, and how."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from formrelay.domain.ids import DESTINATION_ID, FORM_ID, check
from formrelay.views import keys as vk
from formrelay.views.table import ViewsTableAdapter

if TYPE_CHECKING:
    pass

# After the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27 hours in all).
DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
AUTH_TYPES = ("none", "api_key", "bearer", "basic")


@dataclass(frozen=True)
class Destination:
    """One webhook a form delivers to. Credentials are never here: see DestinationSecrets."""

    tenant_id: str
    form_id: str
    destination_id: str
    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    # {"type": "none" | "api_key" | "bearer" | "basic", "header": "X-Api-Key" (api_key only)}
    auth: dict[str, str] = field(default_factory=lambda: {"type": "none"})
    # Output field -> source: "/json/pointer" into the payload, {"const": value}, or
    # {"meta": "submission_id" | "form_id" | "received_at" | "tenant_id"}. None: default body.
    mapping: dict[str, Any] | None = None
    timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 5.0
    retry_schedule_seconds: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE
    enabled: bool = True
    disabled_reason: str | None = None

    def to_item(self) -> dict[str, Any]:
        """The destination's Views item."""
        item: dict[str, Any] = {
            "pk": {"S": vk.tenant_pk(self.tenant_id)},
            "sk": {"S": vk.destination_sk(self.form_id, self.destination_id)},
            "kind": {"S": "destination"},
            "tenant_id": {"S": self.tenant_id},
            "form_id": {"S": self.form_id},
            "destination_id": {"S": self.destination_id},
            "url": {"S": self.url},
            "method": {"S": self.method},
            "headers": {"S": json.dumps(self.headers, sort_keys=True)},
            "auth": {"S": json.dumps(self.auth, sort_keys=True)},
            "mapping": {"S": json.dumps(self.mapping, sort_keys=True)},
            "timeout_seconds": {"N": str(self.timeout_seconds)},
            "connect_timeout_seconds": {"N": str(self.connect_timeout_seconds)},
            "retry_schedule_seconds": {"S": ",".join(map(str, self.retry_schedule_seconds))},
            "enabled": {"BOOL": self.enabled},
        }
        if self.disabled_reason:
            item["disabled_reason"] = {"S": self.disabled_reason}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Destination:
        """A destination from its Views item."""

        def text(name: str, default: str) -> str:
            return str(item.get(name, {}).get("S", default))

        schedule = text("retry_schedule_seconds", "")
        return cls(
            tenant_id=item["tenant_id"]["S"],
            form_id=item["form_id"]["S"],
            destination_id=item["destination_id"]["S"],
            url=item["url"]["S"],
            method=text("method", "POST"),
            headers=json.loads(text("headers", "{}")),
            auth=json.loads(text("auth", '{"type": "none"}')),
            mapping=json.loads(text("mapping", "null")),
            timeout_seconds=float(item.get("timeout_seconds", {}).get("N", "10")),
            connect_timeout_seconds=float(item.get("connect_timeout_seconds", {}).get("N", "5")),
            retry_schedule_seconds=(
                tuple(int(s) for s in schedule.split(",") if s)
                if schedule
                else DEFAULT_RETRY_SCHEDULE
            ),
            enabled=item.get("enabled", {}).get("BOOL", True),
            disabled_reason=item.get("disabled_reason", {}).get("S"),
        )

    def public(self) -> dict[str, Any]:
        """The destination as the API shows it (no credentials)."""
        return {
            "destination_id": self.destination_id,
            "form_id": self.form_id,
            "url": self.url,
            "method": self.method,
            "headers": self.headers,
            "auth": self.auth,
            "mapping": self.mapping,
            "timeout_seconds": self.timeout_seconds,
            "connect_timeout_seconds": self.connect_timeout_seconds,
            "retry_schedule_seconds": list(self.retry_schedule_seconds),
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
        }


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
        return None if item is None else Destination.from_item(item)

    def put(self, destination: Destination) -> None:
        """Create or replace a destination."""
        check(FORM_ID, destination.form_id, "form id")
        check(DESTINATION_ID, destination.destination_id, "destination id")
        self.dynamodb.put_item(TableName=self.views_table, Item=destination.to_item())

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
