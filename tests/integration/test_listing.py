"""The tenant listing on moto: every combination of filters pages newest first with no gap
and no duplicate, reads only what it lists, and a cursor opens only the query, and the
tenant, it was given out for; forged and edited cursors never reach DynamoDB.

Given the Views table and the cursor key of infra/template.yaml on moto (the key generated
as CloudFormation would) and two tenants, each with submissions of two forms in several
statuses, received a second apart.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from formrelay.composition import Services
from formrelay.settings import Settings
from formrelay.views.cursor_key import SecretCursorKey
from formrelay.views.cursors import CursorSigner
from formrelay.views.errors import (
    InvalidCursorError,
    InvalidListingQueryError,
    ListingRefusedError,
)
from formrelay.views.listing import ListingQuery, SubmissionListing, parse_query
from tests.support.template_aws import template_aws

TENANTS = ("acme", "rival")
FORMS = ("contact", "survey")
STATUSES = ("delivered", "failed", "received")
COUNT = 13  # per tenant


@dataclass
class Listings:
    """The listing as the query function builds it, the key it signs with, and the views."""

    listing: SubmissionListing
    key: SecretCursorKey
    settings: Settings
    sent: list[str]  # DynamoDB operations the listing's client sent, in order
    queries: list[dict[str, Any]] = field(default_factory=list)  # each Query's parameters
    counts: list[tuple[int, int]] = field(default_factory=list)  # its (Count, ScannedCount)


def _received_at(n: int) -> str:
    return f"2026-12-01T10:00:{n:02d}.000000Z"


def _view(
    submission_id: str, received_at: str, form_id: str = "contact", status: str = "delivered"
) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "form_id": form_id,
        "status": status,
        "received_at": received_at,
        "updated_at": received_at,
        "version": 2,
        "destinations": {},
    }


def _stored(tenant_id: str) -> list[dict[str, Any]]:
    """The views the fixture stores for a tenant: forms and statuses cycling, a second apart."""
    return [
        _view(f"{tenant_id}-{n}", _received_at(n), FORMS[n % 2], STATUSES[n % 3])
        for n in range(COUNT)
    ]


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
        for tenant_id in TENANTS:
            for view in _stored(tenant_id):
                services.statuses.put(tenant_id, view)
        sent: list[str] = []
        key = SecretCursorKey(
            settings.listing_cursor_key_secret, secretsmanager=services.secretsmanager
        )
        found = Listings(services.listing, key, settings, sent)
        events = services.dynamodb.meta.events
        events.register(
            "before-send.dynamodb", lambda request, **_: sent.append(_operation(request))
        )
        events.register(
            "provide-client-params.dynamodb.Query",
            lambda params, **_: found.queries.append(dict(params)),
        )
        events.register("after-call.dynamodb.Query", lambda parsed, **_: _count(found, parsed))
        yield found


def _count(listings: Listings, answer: dict[str, Any]) -> None:
    if "Count" in answer:  # not a refusal
        listings.counts.append((answer["Count"], answer["ScannedCount"]))


def _operation(request: Any) -> str:
    target = request.headers["X-Amz-Target"]
    return target.decode() if isinstance(target, bytes) else str(target)


def _ids(page: dict[str, Any]) -> list[str]:
    return [view["submission_id"] for view in page["submissions"]]


def _walk(listings: Listings, query: ListingQuery) -> list[list[str]]:
    """The ids of every page of a query, following the cursors to the end."""
    pages: list[list[str]] = []
    while True:
        page = listings.listing.page(query)
        pages.append(_ids(page))
        if page["next_cursor"] is None:
            return pages
        query = replace(query, cursor=page["next_cursor"])


def _expected(tenant_id: str, query: ListingQuery) -> list[str]:
    """What a query must list, newest first, worked out from what was stored."""
    wanted = [
        view
        for view in _stored(tenant_id)
        if query.form_id in (None, view["form_id"])
        and query.status in (None, view["status"])
        and (query.since is None or view["received_at"] >= query.since)
        and (query.until is None or view["received_at"] < query.until)
    ]
    return [view["submission_id"] for view in reversed(wanted)]


WINDOWS = {
    "any time": {},
    "since": {"since": "2026-12-01T10:00:03Z"},
    "until": {"until": "2026-12-01T10:00:10Z"},
    "since and until": {"since": "2026-12-01T10:00:02Z", "until": "2026-12-01T10:00:11Z"},
}
COMBINATIONS = [
    pytest.param(form_id, status, window, id=f"form={form_id} status={status} {name}")
    for (form_id, status), (name, window) in itertools.product(
        itertools.product((None, "contact"), (None, "delivered")), WINDOWS.items()
    )
]


@pytest.mark.parametrize(("form_id", "status", "window"), COMBINATIONS)
@pytest.mark.parametrize("limit", [1, 2, 50])
def test_every_combination_of_filters_pages_newest_first_without_gaps_or_duplicates(
    listings: Listings, form_id: str | None, status: str | None, window: dict[str, str], limit: int
) -> None:
    params = {k: v for k, v in {"form_id": form_id, "status": status}.items() if v}
    query = parse_query("acme", {**params, **window, "limit": str(limit)})
    queried = len(listings.queries)

    pages = _walk(listings, query)

    listed = [submission_id for page in pages for submission_id in page]
    expected = _expected("acme", query)
    assert expected  # every combination lists something here
    assert listed == expected  # newest first, every one once, the other tenant's never
    assert all(len(page) == limit for page in pages[:-1])
    # Each page read from an index exactly what it lists: no filter expression anywhere.
    assert all("FilterExpression" not in sent for sent in listings.queries[queried:])
    assert all(count == scanned for count, scanned in listings.counts[queried:])


@pytest.mark.parametrize(("form_id", "status", "window"), COMBINATIONS)
def test_the_other_tenant_lists_only_its_own(
    listings: Listings, form_id: str | None, status: str | None, window: dict[str, str]
) -> None:
    query = replace(ListingQuery("rival", status, form_id, limit=5), **_normal(window))

    listed = [submission_id for page in _walk(listings, query) for submission_id in page]

    assert listed == _expected("rival", query)
    assert not [s for s in listed if not s.startswith("rival-")]


def _normal(window: dict[str, str]) -> dict[str, str]:
    return {name: text.replace("Z", ".000000Z") for name, text in window.items()}


def test_since_is_inclusive_and_until_exclusive_whatever_the_times_precision(
    listings: Listings,
) -> None:
    # 10:00:03 and 10:00:06 are received exactly at a whole second; the keys hold microseconds.
    query = parse_query(
        "acme", {"since": "2026-12-01T11:00:03+01:00", "until": "2026-12-01T10:00:06.000Z"}
    )

    assert query.since == "2026-12-01T10:00:03.000000Z"
    assert query.until == "2026-12-01T10:00:06.000000Z"
    assert _ids(listings.listing.page(query)) == ["acme-5", "acme-4", "acme-3"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since must be an RFC 3339 time"),
        ({"until": "2026-12-01T10:00:00"}, "until must be an RFC 3339 time"),
        ({"until": "2026-12-01"}, "until must be an RFC 3339 time"),
        ({"since": "²⁰²⁶-12-01T10:00:00Z"}, "since must be an RFC 3339 time"),
        (
            {"since": "2026-12-01T10:00:05Z", "until": "2026-12-01T11:00:05+01:00"},
            "until must be later than since",
        ),
        ({"status": "lost"}, "status must be one of"),
        ({"tenant_id": "rival"}, "unknown query parameters: tenant_id"),
    ],
)
def test_malformed_parameters_are_refused(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidListingQueryError, match=message):
        parse_query("acme", params)


def test_the_page_size_may_change_between_pages(listings: Listings) -> None:
    first = listings.listing.page(ListingQuery("acme", "delivered", limit=1))

    rest = listings.listing.page(
        ListingQuery("acme", "delivered", limit=10, cursor=first["next_cursor"])
    )

    assert _ids(first) + _ids(rest) == _expected("acme", ListingQuery("acme", "delivered"))


def test_a_status_item_put_again_is_listed_once_as_it_is_now(listings: Listings) -> None:
    # A later version in a new status moves the submission from one status's listing to
    # the other's, and the listings without a status show it once, as it is now.
    services = Services(listings.settings)
    moved = {**_view("acme-99", "2026-12-01T09:00:00.000000Z", "contact", "received")}
    services.statuses.put("acme", moved)
    services.statuses.put("acme", {**moved, "status": "failed", "version": 3})

    def listed(**filters: str) -> list[dict[str, Any]]:
        query = parse_query("acme", {**filters, "until": "2026-12-01T10:00:00Z"})
        return listings.listing.page(query)["submissions"]

    assert [v["status"] for v in listed()] == ["failed"]
    assert [v["status"] for v in listed(form_id="contact")] == ["failed"]
    assert [v["status"] for v in listed(form_id="contact", status="failed")] == ["failed"]
    assert listed(form_id="contact", status="received") == []
    assert listed(status="received") == []
    assert "destinations" not in listed()[0]


def test_another_tenants_cursor_is_refused_and_shows_nothing(listings: Listings) -> None:
    theirs = listings.listing.page(ListingQuery("rival", "delivered", limit=2))["next_cursor"]
    before = len(listings.sent)

    with pytest.raises(InvalidCursorError):
        listings.listing.page(ListingQuery("acme", "delivered", limit=2, cursor=theirs))
    assert len(listings.sent) == before  # refused before DynamoDB was asked anything


QUERY = ListingQuery(
    "acme",
    "delivered",
    "contact",
    since="2026-12-01T10:00:00.000000Z",
    until="2026-12-01T10:00:12.000000Z",
    limit=1,
)


@pytest.mark.parametrize(
    "changed",
    [
        {"tenant_id": "rival"},
        {"status": "failed"},
        {"status": None},
        {"form_id": "survey"},
        {"form_id": None},
        {"since": "2026-12-01T10:00:01.000000Z"},
        {"since": None},
        {"until": "2026-12-01T10:00:11.000000Z"},
        {"until": None},
        {"status": None, "form_id": None, "since": None, "until": None},
    ],
    ids=[
        "another tenant",
        "another status",
        "no status",
        "another form",
        "no form",
        "another since",
        "no since",
        "another until",
        "no until",
        "no filter at all",
    ],
)
def test_a_cursor_of_another_query_is_refused(
    listings: Listings, changed: dict[str, str | None]
) -> None:
    cursor = listings.listing.page(QUERY)["next_cursor"]
    assert cursor is not None
    before = len(listings.sent)

    with pytest.raises(InvalidCursorError):
        listings.listing.page(replace(QUERY, cursor=cursor, **changed))
    assert len(listings.sent) == before


def test_an_edited_cursor_is_refused(listings: Listings) -> None:
    cursor = listings.listing.page(QUERY)["next_cursor"]
    payload, mac = cursor.split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["scope"]["tenant_id"] = "rival"
    edited = base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    # The first character of base64 text is six whole bits; a last one may be partly
    # padding, so changing it may change nothing once decoded.
    def flip(text: str) -> str:
        return ("B" if text[0] == "A" else "A") + text[1:]

    before = len(listings.sent)

    for forged in (f"{edited}.{mac}", f"{flip(payload)}.{mac}", f"{payload}.{flip(mac)}"):
        with pytest.raises(InvalidCursorError):
            listings.listing.page(replace(QUERY, tenant_id="rival", cursor=forged))
        with pytest.raises(InvalidCursorError):
            listings.listing.page(replace(QUERY, cursor=forged))
    assert len(listings.sent) == before


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
