"""Tenant-wide export on the in-memory store: the window's events, each once, with their
hashes, page by page; never another tenant's; an edited or foreign cursor is refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from formrelay.audit.export import (
    MAX_LIMIT,
    ExportQuery,
    export_page,
    parse_export_query,
)
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    LEDGER_STREAM,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.store.memory import InMemoryEventStore
from formrelay.views.cursors import CursorSigner
from formrelay.views.errors import InvalidCursorError, InvalidListingQueryError
from tests.support.events import received

NOW = "2026-03-02T00:00:00.000000Z"
SIGNER = CursorSigner(lambda: b"k" * 64)


def attempted(at: str) -> NewEvent:
    return NewEvent(
        type=DELIVERY_ATTEMPTED,
        data={
            "destination_id": "crm",
            "delivery_id": "del-1",
            "attempt": 1,
            "started_at": at,
            "duration_ms": 42,
            "outcome": "succeeded",
            "status_code": 200,
            "error_class": None,
        },
        correlation_id="c",
        occurred_at=at,
    )


def history(store: InMemoryEventStore, tenant: str, streams: int) -> list[RecordedEvent]:
    """`streams` streams of two events each (times interleaved), and one ledger event."""
    recorded: list[RecordedEvent] = []
    for n in range(streams):
        stream = StreamId(tenant, f"sub-{n:04d}")
        recorded += store.append(stream, [received(f"2026-03-01T10:{n:02d}:00.000000Z")], 0)
        recorded += store.append(
            stream, [attempted(f"2026-03-01T11:{streams - n:02d}:00.000000Z")], 1
        )
    ledger = StreamId(tenant, LEDGER_STREAM)
    recorded += store.append(ledger, [received("2026-03-01T10:30:30.000000Z")], 0)
    return sorted(recorded, key=lambda e: (e.occurred_at, e.stream.submission_id))


def walk(
    store: InMemoryEventStore, tenant: str, params: dict[str, str], *, now: str = NOW
) -> tuple[list[dict[str, Any]], int]:
    """Every event the export gives, following its cursors; and how many pages it took."""
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for pages in range(1, 500):
        query = parse_export_query(tenant, {**params, **({"cursor": cursor} if cursor else {})})
        page = export_page(query, events=store, cursors=SIGNER, now=now)
        seen += page.events
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages
    raise AssertionError("the export never ended")


def test_paging_gives_every_event_of_the_window_once_in_time_order_with_its_hashes() -> None:
    store = InMemoryEventStore()
    events = history(store, "acme", 13)

    seen, pages = walk(store, "acme", {"since": "2026-03-01T00:00:00Z", "limit": "3"})

    assert seen == [event.to_dict() for event in events]
    assert pages > 5
    assert all({"prev_hash", "hash", "tenant_id", "submission_id"} <= set(e) for e in seen)
    assert any(e["submission_id"] == LEDGER_STREAM for e in seen)


def test_the_window_includes_since_and_excludes_until() -> None:
    store = InMemoryEventStore()
    events = history(store, "acme", 5)

    # An offset time is the same instant as its UTC form.
    seen, _ = walk(
        store, "acme", {"since": "2026-03-01T11:01:00+00:00", "until": "2026-03-01T11:04:00Z"}
    )

    times = [e["occurred_at"] for e in seen]
    assert times == [
        e.occurred_at
        for e in events
        if "2026-03-01T11:01:00.000000Z" <= e.occurred_at < "2026-03-01T11:04:00.000000Z"
    ]
    assert times[0] == "2026-03-01T11:01:00.000000Z" and len(times) == 3


def test_until_defaults_to_the_time_of_the_first_page_and_stays_there() -> None:
    store = InMemoryEventStore()
    history(store, "acme", 8)
    first = export_page(
        parse_export_query("acme", {"since": "2026-03-01T00:00:00Z", "limit": "1"}),
        events=store,
        cursors=SIGNER,
        now="2026-03-01T10:05:00.000000Z",
    )
    assert first.next_cursor is not None

    # Later pages come later, but the window keeps the end the first one fixed.
    rest, _ = walk(
        store,
        "acme",
        {"since": "2026-03-01T00:00:00Z", "limit": "1", "cursor": first.next_cursor},
        now="2030-01-01T00:00:00.000000Z",
    )

    times = [e["occurred_at"] for e in first.events + rest]
    assert times == [f"2026-03-01T10:{n:02d}:00.000000Z" for n in range(5)]


def test_a_second_tenant_sees_none_of_the_first_tenants_events() -> None:
    store = InMemoryEventStore()
    history(store, "acme", 6)
    theirs = history(store, "rival", 2)

    seen, _ = walk(store, "rival", {"since": "2026-01-01T00:00:00Z", "limit": "2"})

    assert seen == [event.to_dict() for event in theirs]
    assert {e["tenant_id"] for e in seen} == {"rival"}


def first_cursor(store: InMemoryEventStore, params: dict[str, str]) -> str:
    page = export_page(parse_export_query("acme", params), events=store, cursors=SIGNER, now=NOW)
    assert page.next_cursor is not None
    return page.next_cursor


@pytest.mark.parametrize(
    ("tenant", "params"),
    [
        ("rival", {"since": "2026-03-01T00:00:00Z"}),
        ("acme", {"since": "2026-02-01T00:00:00Z"}),
        ("acme", {"since": "2026-03-01T00:00:00Z", "until": NOW}),
    ],
)
def test_a_cursor_opens_nothing_for_another_tenant_or_window(
    tenant: str, params: dict[str, str]
) -> None:
    store = InMemoryEventStore()
    history(store, "acme", 4)
    cursor = first_cursor(store, {"since": "2026-03-01T00:00:00Z", "limit": "2"})

    with pytest.raises(InvalidCursorError):
        export_page(
            parse_export_query(tenant, {**params, "cursor": cursor}),
            events=store,
            cursors=SIGNER,
            now=NOW,
        )


def test_an_edited_cursor_is_refused() -> None:
    store = InMemoryEventStore()
    history(store, "acme", 4)
    cursor = first_cursor(store, {"since": "2026-03-01T00:00:00Z", "limit": "2"})
    edited = ("B" if cursor[5] != "B" else "C").join((cursor[:5], cursor[6:]))

    with pytest.raises(InvalidCursorError):
        export_page(
            parse_export_query("acme", {"since": "2026-03-01T00:00:00Z", "cursor": edited}),
            events=store,
            cursors=SIGNER,
            now=NOW,
        )


def test_a_listing_cursor_is_no_export_cursor() -> None:
    query = ExportQuery("acme", "2026-03-01T00:00:00.000000Z")
    listing = SIGNER.seal(
        {"tenant_id": "acme", "status": "received", "form_id": None, "since": None},
        {"0": "~"},
    )

    with pytest.raises(InvalidCursorError):
        export_page(
            dataclasses.replace(query, cursor=listing),
            events=InMemoryEventStore(),
            cursors=SIGNER,
            now=NOW,
        )


def test_a_sealed_position_of_another_shape_is_refused() -> None:
    query = ExportQuery("acme", "2026-03-01T00:00:00.000000Z")
    for position in ({"7": "~", "until": NOW}, {"0": "x", "until": NOW}, {"0": "~"}):
        cursor = SIGNER.seal(query.scope(), position)
        with pytest.raises(InvalidCursorError):
            export_page(
                dataclasses.replace(query, cursor=cursor),
                events=InMemoryEventStore(),
                cursors=SIGNER,
                now=NOW,
            )


def test_the_longest_positions_still_make_a_cursor() -> None:
    # Submission ids of 128 characters in every shard, the longest tenant id.
    store = InMemoryEventStore()
    tenant = "t" * 40
    for n in range(40):
        stream = StreamId(tenant, f"{n:03d}" + "x" * 125)
        store.append(stream, [received(f"2026-03-01T10:{n:02d}:00.000000Z")], 0)

    seen, _ = walk(store, tenant, {"since": "2026-03-01T00:00:00Z", "limit": "4"})

    assert len(seen) == 40


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"until": NOW},
        {"since": "yesterday"},
        {"since": "2026-03-01T00:00:00"},  # no zone
        {"since": "2026-03-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"},
        {"since": "2026-03-01T00:00:00Z", "limit": "0"},
        {"since": "2026-03-01T00:00:00Z", "limit": str(MAX_LIMIT + 1)},
        {"since": "2026-03-01T00:00:00Z", "limit": "²"},
        {"since": "2026-03-01T00:00:00Z", "status": "received"},
    ],
)
def test_a_malformed_query_is_refused(params: dict[str, str]) -> None:
    with pytest.raises(InvalidListingQueryError):
        parse_export_query("acme", params)


def test_limit_defaults_to_500_and_goes_to_1000() -> None:
    assert parse_export_query("acme", {"since": NOW}).limit == 500
    assert parse_export_query("acme", {"since": NOW, "limit": "1000"}).limit == 1000
