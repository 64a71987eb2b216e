"""The tenant listing on moto: pages walk a status in order, and a cursor opens only the query,
and the tenant, it was given out for; forged and edited cursors never reach DynamoDB.

Given the Views table and the cursor key of infra/template.yaml on moto (the key generated
as CloudFormation would) and two tenants with submissions in one status.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from formrelay.composition import Services
from formrelay.settings import Settings
from formrelay.views.cursor_key import SecretCursorKey
from formrelay.views.cursors import CursorSigner
from formrelay.views.errors import InvalidCursorError, ListingRefusedError
from formrelay.views.listing import ListingQuery, SubmissionListing
from tests.support.template_aws import template_aws


@dataclass
class Listings:
    """The listing as the query function builds it, the key it signs with, and the views."""

    listing: SubmissionListing
    key: SecretCursorKey
    settings: Settings
    sent: list[str]  # DynamoDB operations the listing's client sent, in order


def _view(submission_id: str, received_at: str, form_id: str = "contact") -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "form_id": form_id,
        "status": "delivered",
        "received_at": received_at,
        "updated_at": received_at,
        "version": 2,
        "destinations": {},
    }


@pytest.fixture(scope="module")
def listings() -> Iterator[Listings]:
    with template_aws() as aws:
        settings = Settings(
            events_table=aws.events_table,
            views_table=aws.views_table,
            delivery_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/delivery",
            tenant_secret_prefix="formrelay/tenants/",
            retry_schedule_seconds=(1,),
            listing_cursor_key_secret=aws.resources["ListingCursorKey"]["Ref"],
        )
        services = Services(settings)  # its own clients: the composition's retry settings
        for tenant_id in ("acme", "rival"):
            for n in range(5):
                received = f"2026-12-01T10:00:0{n}.000000Z"
                services.statuses.put(tenant_id, _view(f"{tenant_id}-{n}", received))
        sent: list[str] = []
        services.dynamodb.meta.events.register(
            "before-send.dynamodb", lambda request, **_: sent.append(_operation(request))
        )
        key = SecretCursorKey(
            settings.listing_cursor_key_secret, secretsmanager=services.secretsmanager
        )
        yield Listings(services.listing, key, settings, sent)


def _operation(request: Any) -> str:
    target = request.headers["X-Amz-Target"]
    return target.decode() if isinstance(target, bytes) else str(target)


def _ids(page: dict[str, Any]) -> list[str]:
    return [view["submission_id"] for view in page["submissions"]]


def test_pages_walk_the_status_oldest_first_and_end(listings: Listings) -> None:
    query = ListingQuery("acme", "delivered", limit=2)
    seen: list[str] = []
    while True:
        page = listings.listing.page(query)
        seen += _ids(page)
        if page["next_cursor"] is None:
            break
        query = replace(query, cursor=page["next_cursor"])

    assert seen == [f"acme-{n}" for n in range(5)]


def test_the_page_size_may_change_between_pages(listings: Listings) -> None:
    first = listings.listing.page(ListingQuery("acme", "delivered", limit=1))

    rest = listings.listing.page(
        ListingQuery("acme", "delivered", limit=10, cursor=first["next_cursor"])
    )

    assert _ids(first) + _ids(rest) == [f"acme-{n}" for n in range(5)]


def test_another_tenants_cursor_is_refused_and_shows_nothing(listings: Listings) -> None:
    theirs = listings.listing.page(ListingQuery("rival", "delivered", limit=2))["next_cursor"]
    before = len(listings.sent)

    with pytest.raises(InvalidCursorError):
        listings.listing.page(ListingQuery("acme", "delivered", limit=2, cursor=theirs))
    assert len(listings.sent) == before  # refused before DynamoDB was asked anything


@pytest.mark.parametrize(
    "changed",
    [
        {"status": "failed"},
        {"form_id": "contact"},
        {"since": "2026-12-01T10:00:00Z"},
    ],
    ids=["another status", "another form", "another since"],
)
def test_a_cursor_of_another_query_is_refused(listings: Listings, changed: dict[str, str]) -> None:
    query = ListingQuery("acme", "delivered", limit=2)
    cursor = listings.listing.page(query)["next_cursor"]

    with pytest.raises(InvalidCursorError):
        listings.listing.page(replace(query, cursor=cursor, **changed))


def _old_style(key: dict[str, Any]) -> str:
    """What cursors were before they were signed: base64 of the LastEvaluatedKey."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        # A well-formed start key of the tenant's own partition, but not one the API gave out
        _old_style(
            {
                "gsi1pk": {"S": "T#acme#STATUS#delivered"},
                "gsi1sk": {"S": "2026-12-01T10:00:01.000000Z#acme-1"},
                "pk": {"S": "T#acme#S#acme-1"},
                "sk": {"S": "STATUS"},
            }
        ),
        # The shapes DynamoDB (or moto) refuse, or fail on
        _old_style({"gsi1pk": {"S": "T#acme#STATUS#delivered"}}),
        _old_style({"gsi1pk": {"N": "1"}, "x": {"BOOL": True}}),
        "garbage",
    ],
    ids=["unsigned start key", "partial key", "wrong types", "garbage"],
)
def test_a_forged_cursor_never_reaches_dynamodb(listings: Listings, cursor: str) -> None:
    before = len(listings.sent)

    with pytest.raises(InvalidCursorError):
        listings.listing.page(ListingQuery("acme", "delivered", cursor=cursor))
    assert len(listings.sent) == before


@pytest.mark.parametrize(
    "position",
    [
        {"after": "2026-12-01T10:00:01.000000Z#acme-1"},
        {"after": "2026-12-01T10:00:01.000000Z#acme-1", "submission_id": "acme-2"},
        {"after": "x#acme-1", "submission_id": "acme-1"},
        {"after": "2026#a b", "submission_id": "a b"},
        {"after": "2026#acme-1", "submission_id": "acme-1", "pk": "T#rival#S#rival-1"},
    ],
    ids=["no submission", "another submission", "not a time", "not an id", "a key of more"],
)
def test_even_a_signed_cursor_of_the_wrong_shape_is_refused(
    listings: Listings, position: dict[str, str]
) -> None:
    # As if the key had leaked: the shape is still checked before DynamoDB sees it.
    query = ListingQuery("acme", "delivered")
    cursor = CursorSigner(listings.key).seal(query.scope(), position)
    before = len(listings.sent)

    with pytest.raises(InvalidCursorError):
        listings.listing.page(replace(query, cursor=cursor))
    assert len(listings.sent) == before


def test_a_query_dynamodb_refuses_as_invalid_is_refused_at_once(listings: Listings) -> None:
    # An empty `since` (which parse_query never lets through) is a ValidationException:
    # the listing says the query is invalid, and the client does not retry what cannot succeed.
    before = len(listings.sent)

    with pytest.raises(ListingRefusedError):
        listings.listing.page(ListingQuery("acme", "delivered", since=""))
    assert listings.sent[before:] == ["DynamoDB_20120810.Query"]


def test_the_key_is_the_generated_secret_and_is_read_once(listings: Listings) -> None:
    services = Services(listings.settings)  # a fresh container
    secrets: list[str] = []
    services.secretsmanager.meta.events.register(
        "before-send.secretsmanager", lambda **_: secrets.append("read")
    )
    query = ListingQuery("acme", "delivered", limit=1)

    for _ in range(3):
        cursor = services.listing.page(query)["next_cursor"]
        services.listing.page(replace(query, cursor=cursor))

    assert len(secrets) == 1  # cached (Powertools) for the function's secret cache lifetime
    assert len(listings.key()) == 64
