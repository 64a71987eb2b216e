"""The tenant listing: submissions newest first, by any of form, status and time received.

Every combination of filters is one partition of one of the Views table's listing
indexes (tables/keys.py), sorted by time received, and the time window is the
range of the query's key condition: no filter expression, so a page reads as many
index items as it lists, whatever the tenant's number of submissions. gsi1
(tenant + status) holds the views themselves; the keys-only indexes name the
status items, which the listing then reads by key in one BatchGetItem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.domain.clock import Clock, SystemClock, normalized_time
from formrelay.domain.errors import InvalidIdentifierError
from formrelay.domain.ids import FORM_ID, SUBMISSION_ID, check
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, refused_as_invalid
from formrelay.views.cursors import CursorSigner, Position
from formrelay.views.errors import (
    InvalidCursorError,
    InvalidListingQueryError,
    ListingIncompleteError,
    ListingRefusedError,
)
from formrelay.views.status import DEAD_LETTERED, DELIVERED, DELIVERING, FAILED, RECEIVED

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUSES = (RECEIVED, DELIVERING, DELIVERED, FAILED, DEAD_LETTERED)
MAX_LIMIT = 100
PARAMETERS = frozenset({"form_id", "status", "since", "until", "limit", "cursor"})
# Numbers in ASCII only: '²'.isdigit() is true, and int('²') raises.
_LIMIT = re.compile(r"[0-9]{1,3}")
# Where a page ended: the last item's sort key, `<received at>#<submission id>`.
_AFTER = re.compile(r"[0-9]{4}[\x20-\x7e]{0,60}#(?P<submission_id>[^#]+)")
SORT_KEY = "gsi1sk"  # shared by the four listing indexes
# BatchGetItem may leave keys unprocessed when throttled: asked again this many times.
_BATCH_ATTEMPTS = 5
_TIME_HINT = "an RFC 3339 time with its zone, such as 2026-01-31T00:00:00Z"


@dataclass(frozen=True)
class ListingQuery:
    """Which submissions to list (always within one tenant), received in [since, until).

    since and until are in the microsecond Z form (see `parse_query`), so that they
    compare with the indexes' sort keys as text.
    """

    tenant_id: str
    status: str | None = None
    form_id: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 50
    cursor: str | None = None

    def scope(self) -> dict[str, str | None]:
        """What a cursor of this query is bound to: every parameter but the page size."""
        return {
            "tenant_id": self.tenant_id,
            "status": self.status,
            "form_id": self.form_id,
            "since": self.since,
            "until": self.until,
        }


def parse_query(tenant_id: str, params: dict[str, str]) -> ListingQuery:
    """A listing query from query-string parameters; InvalidListingQueryError if malformed."""
    unknown = set(params) - PARAMETERS
    if unknown:
        raise InvalidListingQueryError(f"unknown query parameters: {', '.join(sorted(unknown))}")
    status = params.get("status")
    if status is not None and status not in STATUSES:
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
    since, until = _time(params, "since"), _time(params, "until")
    if since is not None and until is not None and since >= until:
        raise InvalidListingQueryError("until must be later than since")
    return ListingQuery(
        tenant_id, status, form_id, since, until, int(limit_text), params.get("cursor")
    )


def _time(params: dict[str, str], name: str) -> str | None:
    """A time parameter in the microsecond Z form, or None if absent."""
    text = params.get(name)
    if text is None:
        return None
    try:
        return normalized_time(text)
    except ValueError as exc:
        raise InvalidListingQueryError(f"{name} must be {_TIME_HINT}") from exc


@dataclass(frozen=True)
class _Index:
    """One listing index: its name, its partition key attribute, whether it holds views."""

    name: str
    partition_attribute: str
    holds_views: bool


_BY_STATUS = _Index("gsi1", "gsi1pk", holds_views=True)
_BY_TENANT = _Index("gsi2", "gsi2pk", holds_views=False)
_BY_FORM = _Index("gsi3", "gsi3pk", holds_views=False)
_BY_FORM_AND_STATUS = _Index("gsi4", "gsi4pk", holds_views=False)


def _partition(query: ListingQuery) -> tuple[_Index, str]:
    """The index, and the partition of it, that holds exactly the query's submissions."""
    tenant, form, status = query.tenant_id, query.form_id, query.status
    if form is None and status is None:
        return _BY_TENANT, vk.tenant_listing_pk(tenant)
    if form is None and status is not None:
        return _BY_STATUS, vk.listing_pk(tenant, status)
    if form is not None and status is None:
        return _BY_FORM, vk.form_listing_pk(tenant, form)
    assert form is not None and status is not None
    return _BY_FORM_AND_STATUS, vk.form_status_listing_pk(tenant, form, status)


class SubmissionListing(ViewsTableAdapter):
    """Pages of a tenant's submissions, newest first, from the Views table's listing indexes."""

    def __init__(
        self,
        views_table: str,
        dynamodb: DynamoDBClient | None = None,
        *,
        cursors: CursorSigner,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(views_table, dynamodb)
        self.cursors = cursors
        self.clock = clock or SystemClock()

    def page(self, query: ListingQuery) -> dict[str, Any]:
        """One page of submissions, newest first, and the cursor of the next page (or None).

        A page may list fewer than `limit` and still have a next one: a submission the
        index named in a status it has since left is not listed in that status.
        """
        index, partition = _partition(query)
        arguments: dict[str, Any] = {
            "TableName": self.views_table,
            "IndexName": index.name,
            **_key_condition(index, partition, query),
            "ScanIndexForward": False,  # newest first
            "Limit": query.limit,
        }
        if query.cursor:  # an empty cursor is the first page, as it always was
            position = self.cursors.open(query.cursor, query.scope())
            arguments["ExclusiveStartKey"] = _start_key(index, partition, query, position)
        try:
            answer = self.dynamodb.query(**arguments)
        except ClientError as exc:
            if refused_as_invalid(exc):
                raise ListingRefusedError() from exc
            raise
        found = answer.get("Items", [])
        if index.holds_views:
            views = [json.loads(item["view"]["S"]) for item in found]
        else:
            views = self._views_of(found)
        if query.status is not None:
            views = [view for view in views if view["status"] == query.status]
        last = answer.get("LastEvaluatedKey")
        return {
            "submissions": [
                {k: v for k, v in view.items() if k != "destinations"} for view in views
            ],
            "next_cursor": self.cursors.seal(query.scope(), _position(query, last))
            if last
            else None,
        }

    def _views_of(self, index_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The views of the status items a keys-only index named, in the index's order."""
        if not index_items:
            return []
        wanted = [{"pk": item["pk"], "sk": item["sk"]} for item in index_items]
        read: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {
            self.views_table: {
                "Keys": wanted,
                "ProjectionExpression": "pk, #view",
                "ExpressionAttributeNames": {"#view": "view"},  # VIEW is a reserved word
            }
        }
        for attempt in range(_BATCH_ATTEMPTS):
            answer = self.dynamodb.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self.views_table, []):
                read[item["pk"]["S"]] = json.loads(item["view"]["S"])
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            self.clock.sleep(0.05 * 2**attempt)  # throttled: back off, then ask for the rest
        else:
            raise ListingIncompleteError()
        # A status item is never deleted; one that is gone has nothing to list.
        return [read[key["pk"]["S"]] for key in wanted if key["pk"]["S"] in read]


def _key_condition(index: _Index, partition: str, query: ListingQuery) -> dict[str, Any]:
    """The partition, and the time window [since, until) as a range of the sort key.

    A sort key is `<received at>#<id>`: it is at least `since` exactly when its time is,
    and it is less than `until` exactly when its time is (a key whose time equals
    `until` has it as a prefix, so sorts after it).
    """
    condition = f"{index.partition_attribute} = :partition"
    values: dict[str, Any] = {":partition": {"S": partition}}
    if query.since is not None and query.until is not None:
        condition += f" AND {SORT_KEY} BETWEEN :since AND :until"  # no key equals until
        values[":since"], values[":until"] = {"S": query.since}, {"S": query.until}
    elif query.since is not None:
        condition += f" AND {SORT_KEY} >= :since"
        values[":since"] = {"S": query.since}
    elif query.until is not None:
        condition += f" AND {SORT_KEY} < :until"
        values[":until"] = {"S": query.until}
    return {"KeyConditionExpression": condition, "ExpressionAttributeValues": values}


def _position(query: ListingQuery, last_key: dict[str, Any]) -> Position:
    """Where a page ended, from DynamoDB's LastEvaluatedKey (a status item's keys)."""
    submission_prefix = vk.status_pk(query.tenant_id, "")
    return {
        "after": last_key[SORT_KEY]["S"],
        "submission_id": last_key["pk"]["S"].removeprefix(submission_prefix),
    }


def _start_key(
    index: _Index, partition: str, query: ListingQuery, position: Position
) -> dict[str, Any]:
    """The ExclusiveStartKey of a position, rebuilt from its parts once they prove well formed.

    The cursor verified, so the position is one this API gave out for this very query;
    its exact shape is checked anyway, and the key is built here, so DynamoDB only ever
    sees keys of the shape a status item has, within the query's own partition.
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
        index.partition_attribute: {"S": partition},
        SORT_KEY: {"S": after},
        "pk": {"S": vk.status_pk(query.tenant_id, submission_id)},
        "sk": {"S": vk.STATUS_SK},
    }
