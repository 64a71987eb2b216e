"""The status view: a pure fold of a submission's events, and where it is kept.

The projection recomputes the whole view from the stream on every record, so
replaying, duplicating or reordering stream records cannot change the result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_DEAD_LETTERED,
    DELIVERY_FAILED,
    DELIVERY_REDELIVERY_REQUESTED,
    DESTINATION_DISABLED,
    SUBMISSION_RECEIVED,
    RecordedEvent,
)
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    pass

RECEIVED, DELIVERING, DELIVERED, FAILED = "received", "delivering", "delivered", "failed"
PENDING, RETRYING, DEAD_LETTERED = "pending", "retrying", "dead_lettered"
TERMINAL = frozenset({DELIVERED, FAILED, DEAD_LETTERED})


def _new_destination() -> dict[str, Any]:
    return {
        "state": PENDING,
        "attempts": 0,
        "round": 1,
        "last_error": None,
        "last_status_code": None,
        "next_attempt_at": None,
    }


def fold(events: Sequence[RecordedEvent]) -> dict[str, Any]:
    """The status of a submission from its events (first must be submission.received)."""
    first = events[0]
    if first.type != SUBMISSION_RECEIVED:
        raise ValueError("a stream starts with submission.received")
    destinations = {d: _new_destination() for d in first.data["destinations"]}
    for event in events[1:]:
        view = destinations.setdefault(event.data["destination_id"], _new_destination())
        _apply(view, event)
    return {
        "submission_id": first.stream.submission_id,
        "form_id": first.data["form_id"],
        # The schema version the payload was validated against when it was received.
        "form_version": first.data["form_schema_version"],
        "status": _overall(destinations),
        "received_at": first.occurred_at,
        "updated_at": events[-1].occurred_at,
        "version": events[-1].version,
        "destinations": destinations,
    }


def _apply(view: dict[str, Any], event: RecordedEvent) -> None:
    data = event.data
    if event.type == DELIVERY_ATTEMPTED:
        _apply_attempt(view, event)
    elif event.type == DELIVERY_FAILED:
        view.update(state=FAILED, next_attempt_at=None)
        view["last_error"] = view["last_error"] or data["reason"]
    elif event.type == DELIVERY_DEAD_LETTERED:
        view.update(state=DEAD_LETTERED, next_attempt_at=None)
    elif event.type == DELIVERY_REDELIVERY_REQUESTED:
        view.update(state=DELIVERING, round=view["round"] + 1, next_attempt_at=None)
    elif event.type == DESTINATION_DISABLED:
        view["destination_disabled"] = True


def _apply_attempt(view: dict[str, Any], event: RecordedEvent) -> None:
    data = event.data
    view["attempts"] = max(view["attempts"], data["attempt"])
    view["last_status_code"] = data["status_code"]
    view["next_attempt_at"] = data.get("next_attempt_at")
    if data["outcome"] == "succeeded":
        view.update(state=DELIVERED, last_error=None, delivered_at=event.occurred_at)
        return
    view["last_error"] = data["error_class"] or f"http_{data['status_code']}"
    if view["state"] != DELIVERED:
        view["state"] = RETRYING if data["outcome"] == "retryable_failure" else FAILED


def _overall(destinations: dict[str, dict[str, Any]]) -> str:
    states = [d["state"] for d in destinations.values()]
    if all(s == PENDING for s in states) and states:
        return RECEIVED
    if not all(s in TERMINAL for s in states):
        return DELIVERING
    # No destinations at all is vacuously delivered: nothing is left to do.
    if all(s == DELIVERED for s in states):
        return DELIVERED
    return DEAD_LETTERED if DEAD_LETTERED in states else FAILED


class StatusViews(ViewsTableAdapter):
    """Status items in the Views table, written newer-version-wins."""

    def put(self, tenant_id: str, view: dict[str, Any]) -> bool:
        """Store a view unless a newer version is stored; True if written."""
        status, form_id = view["status"], view["form_id"]
        try:
            self.dynamodb.put_item(
                TableName=self.views_table,
                Item={
                    "pk": {"S": vk.status_pk(tenant_id, view["submission_id"])},
                    "sk": {"S": vk.STATUS_SK},
                    "kind": {"S": "status"},
                    "tenant_id": {"S": tenant_id},
                    "status": {"S": status},
                    "form_id": {"S": form_id},
                    "version": {"N": str(view["version"])},
                    # The listing indexes (see tables/keys.py). A key that does not change
                    # costs a keys-only index no write when the item is put again.
                    "gsi1pk": {"S": vk.listing_pk(tenant_id, status)},
                    "gsi2pk": {"S": vk.tenant_listing_pk(tenant_id)},
                    "gsi3pk": {"S": vk.form_listing_pk(tenant_id, form_id)},
                    "gsi4pk": {"S": vk.form_status_listing_pk(tenant_id, form_id, status)},
                    "gsi1sk": {"S": vk.listing_sk(view["received_at"], view["submission_id"])},
                    "view": {"S": json.dumps(view, sort_keys=True)},
                },
                ConditionExpression="attribute_not_exists(pk) OR version <= :v",
                ExpressionAttributeValues={":v": {"N": str(view["version"])}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True
