"""The tenant listing: submissions by status and time, through the Views table's gsi1."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.domain.errors import InvalidIdentifierError
from formrelay.domain.ids import FORM_ID, SUBMISSION_ID, check
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, refused_as_invalid
from formrelay.views.cursors import CursorSigner, Position
from formrelay.views.errors import InvalidCursorError, InvalidListingQueryError, ListingRefusedError
from formrelay.views.status import DEAD_LETTERED, DELIVERED, DELIVERING, FAILED, RECEIVED

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUSES = (RECEIVED, DELIVERING, DELIVERED, FAILED, DEAD_LETTERED)
MAX_LIMIT = 100
# Numbers and times in ASCII only: '²'.isdigit() is true, and int('²') raises.
_LIMIT = re.compile(r"[0-9]{1,3}")
_SINCE = re.compile(r"[0-9]{4}[\x20-\x7e]{0,36}")
# Where a page ended: the last item's gsi1 sort key, `<received at>#<submission id>`.
_AFTER = re.compile(r"[0-9]{4}[\x20-\x7e]{0,60}#(?P<submission_id>[^#]+)")


@dataclass(frozen=True)
class ListingQuery:
    """Which submissions to list (always within one tenant)."""

    tenant_id: str
    status: str
    form_id: str | None = None
    since: str | None = None
    limit: int = 50
    cursor: str | None = None

    def scope(self) -> dict[str, str | None]:
        """What a cursor of this query is bound to: every parameter but the page size."""
        return {
            "tenant_id": self.tenant_id,
            "status": self.status,
            "form_id": self.form_id,
            "since": self.since,
        }


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
    if not _LIMIT.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise InvalidListingQueryError(f"limit must be 1 to {MAX_LIMIT}")
    since = params.get("since")
    if since is not None and not _SINCE.fullmatch(since):
        raise InvalidListingQueryError(
            "since must be an RFC 3339 UTC time such as 2026-01-31T00:00:00Z"
        )
    return ListingQuery(tenant_id, status, form_id, since, int(limit_text), params.get("cursor"))


class SubmissionListing(ViewsTableAdapter):
    """Reads gsi1: one partition per tenant and status, sorted by time received."""

    def __init__(
        self, views_table: str, dynamodb: DynamoDBClient | None = None, *, cursors: CursorSigner
    ) -> None:
        super().__init__(views_table, dynamodb)
        self.cursors = cursors

    def page(self, query: ListingQuery) -> dict[str, Any]:
        """One page of submissions, oldest first, and the cursor of the next page."""
        condition = "gsi1pk = :pk"
        values: dict[str, Any] = {":pk": {"S": vk.listing_pk(query.tenant_id, query.status)}}
        if query.since is not None:
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
        if query.cursor:  # an empty cursor is the first page, as it always was
            position = self.cursors.open(query.cursor, query.scope())
            arguments["ExclusiveStartKey"] = _start_key(query, position)
        try:
            answer = self.dynamodb.query(**arguments)
        except ClientError as exc:
            if refused_as_invalid(exc):
                raise ListingRefusedError() from exc
            raise
        items = [json.loads(item["view"]["S"]) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return {
            "submissions": [
                {k: v for k, v in view.items() if k != "destinations"} for view in items
            ],
            "next_cursor": self.cursors.seal(query.scope(), _position(query, last))
            if last
            else None,
        }


def _position(query: ListingQuery, last_key: dict[str, Any]) -> Position:
    """Where a page ended, from DynamoDB's LastEvaluatedKey (a status item's keys)."""
    submission_prefix = vk.status_pk(query.tenant_id, "")
    return {
        "after": last_key["gsi1sk"]["S"],
        "submission_id": last_key["pk"]["S"].removeprefix(submission_prefix),
    }


def _start_key(query: ListingQuery, position: Position) -> dict[str, Any]:
    """The ExclusiveStartKey of a position, rebuilt from its parts once they prove well formed.

    The cursor verified, so the position is one this API gave out; its exact shape is
    checked anyway, and the key is built here, so DynamoDB only ever sees keys of the
    shape a status item has, within the query's own partition.
    """
    after, submission_id = position.get("after", ""), position.get("submission_id", "")
    match = _AFTER.fullmatch(after)
    if (
        set(position) != {"after", "submission_id"}
        or match is None
        or match.group("submission_id") != submission_id
        or not SUBMISSION_ID.fullmatch(submission_id)
    ):
        raise InvalidCursorError()
    return {
        "gsi1pk": {"S": vk.listing_pk(query.tenant_id, query.status)},
        "gsi1sk": {"S": after},
        "pk": {"S": vk.status_pk(query.tenant_id, submission_id)},
        "sk": {"S": vk.STATUS_SK},
    }
