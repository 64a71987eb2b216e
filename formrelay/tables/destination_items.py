"""A destination as its Views item, and back: read by the destination directory and
by the form catalog (which loads a form with its destinations in one query)."""

from __future__ import annotations

import json
from typing import Any

from formrelay.domain.destinations import DEFAULT_RETRY_SCHEDULE, Destination
from formrelay.tables import keys as vk


def destination_item(destination: Destination) -> dict[str, Any]:
    """A destination's Views item."""
    item: dict[str, Any] = {
        "pk": {"S": vk.tenant_pk(destination.tenant_id)},
        "sk": {"S": vk.destination_sk(destination.form_id, destination.destination_id)},
        "kind": {"S": "destination"},
        "tenant_id": {"S": destination.tenant_id},
        "form_id": {"S": destination.form_id},
        "destination_id": {"S": destination.destination_id},
        "url": {"S": destination.url},
        "method": {"S": destination.method},
        "headers": {"S": json.dumps(destination.headers, sort_keys=True)},
        "auth": {"S": json.dumps(destination.auth, sort_keys=True)},
        "mapping": {"S": json.dumps(destination.mapping, sort_keys=True)},
        "timeout_seconds": {"N": str(destination.timeout_seconds)},
        "connect_timeout_seconds": {"N": str(destination.connect_timeout_seconds)},
        "retry_schedule_seconds": {"S": ",".join(map(str, destination.retry_schedule_seconds))},
        "enabled": {"BOOL": destination.enabled},
    }
    if destination.disabled_reason:
        item["disabled_reason"] = {"S": destination.disabled_reason}
    return item


def destination_from_item(item: dict[str, Any]) -> Destination:
    """A destination from its Views item."""

    def text(name: str, default: str) -> str:
        return str(item.get(name, {}).get("S", default))

    schedule = text("retry_schedule_seconds", "")
    return Destination(
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
            tuple(int(s) for s in schedule.split(",") if s) if schedule else DEFAULT_RETRY_SCHEDULE
        ),
        enabled=item.get("enabled", {}).get("BOOL", True),
        disabled_reason=item.get("disabled_reason", {}).get("S"),
    )
