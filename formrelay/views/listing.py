"""The tenant listing: submissions by status and time, through the Views table's gsi1."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from formrelay.domain.errors import InvalidIdentifierError
from formrelay.domain.ids import FORM_ID, check
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter
from formrelay.views.errors import InvalidCursorError, InvalidListingQueryError
from formrelay.views.status import DEAD_LETTERED, DELIVERED, DELIVERING, FAILED, RECEIVED

STATUSES = (RECEIVED, DELIVERING, DELIVERED, FAILED, DEAD_LETTERED)
MAX_LIMIT = 100


@dataclass(frozen=True)
class ListingQuery:
    """Which submissions to list (always within one tenant)."""

    tenant_id: str
    status: str
    form_id: str | None = None
    since: str | None = None
    limit: int = 50
    cursor: str | None = None


def parse_query(tenant_id: str, params: dict[str, str]) -> ListingQuery:
    """A listing query from query-string parameters; InvalidListingQueryError if malformed."""
    unknown = set(params) - {"status", "form_id", "since", "limit", "cursor"}
    if unknown:
        raise InvalidListingQueryError(f"unknown query parameters: {', '.join(sorted(unknown))}")
    status = params.get("status", "")
    if status not in STATUSES:
        raise InvalidListingQueryError(f"status must be one of {', '.join(STATUSES)}")
    form_id = params.get("form_id")
    try:
        if form_id is not None:
            check(FORM_ID, form_id, "form_id")
    except InvalidIdentifierError as exc:
        raise InvalidListingQueryError(str(exc)) from exc
    limit_text = params.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise InvalidListingQueryError(f"limit must be 1 to {MAX_LIMIT}")
    since = params.get("since")
    if since is not None and (len(since) > 40 or not since[:4].isdigit()):
        raise InvalidListingQueryError(
            "since must be an RFC 3339 UTC time such as 2026-01-31T00:00:00Z"
        )
    return ListingQuery(tenant_id, status, form_id, since, int(limit_text), params.get("cursor"))


class SubmissionListing(ViewsTableAdapter):
    """Reads gsi1: one partition per tenant and status, sorted by time received."""

    def page(self, query: ListingQuery) -> dict[str, Any]:
        """One page of submissions, oldest first, and the cursor of the next page."""
        condition = "gsi1pk = :pk"
        values: dict[str, Any] = {":pk": {"S": vk.listing_pk(query.tenant_id, query.status)}}
        if query.since:
            condition += " AND gsi1sk >= :since"
            values[":since"] = {"S": query.since}
        arguments: dict[str, Any] = {
            "TableName": self.views_table,
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": query.limit,
        }
        if query.form_id:
            arguments["FilterExpression"] = "form_id = :form"
            values[":form"] = {"S": query.form_id}
        if query.cursor:
            arguments["ExclusiveStartKey"] = _decode_cursor(query.cursor, query.tenant_id)
        answer = self.dynamodb.query(**arguments)
        items = [json.loads(item["view"]["S"]) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return {
            "submissions": [
                {k: v for k, v in view.items() if k != "destinations"} for view in items
            ],
            "next_cursor": _encode_cursor(last) if last else None,
        }


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def _decode_cursor(cursor: str, tenant_id: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        pk = key["gsi1pk"]["S"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursorError() from exc
    # A cursor names its tenant: one tenant's cursor never opens another's listing.
    if not isinstance(pk, str) or not pk.startswith(vk.tenant_pk(tenant_id) + "#"):
        raise InvalidCursorError()
    return dict(key)
