"""A tenant's record verified page by page (GET /v1/audit/verify) finds what the CLI's
whole-record check finds, whatever the page size; each page stays within its limit; the
streams changed since the last anchor are checked by their chain; cursors and parameters
that are not the walk's own are refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from formrelay.audit.anchoring import Anchoring
from formrelay.audit.memory import InMemoryAnchoredHeads, InMemoryAnchorStore
from formrelay.audit.paged_verification import (
    TenantVerification,
    VerifyQuery,
    parse_verify_query,
)
from formrelay.audit.tenant_verification import verify_tenant
from formrelay.domain.clock import ManualClock, rfc3339
from formrelay.domain.events import LEDGER_STREAM, NewEvent, RecordedEvent, StreamId
from formrelay.domain.hashing import chain_hash
from formrelay.store.items import TENANT_INDEX_SHARDS
from formrelay.store.memory import InMemoryEventStore
from formrelay.views.cursors import CursorSigner
from formrelay.views.errors import InvalidCursorError, InvalidListingQueryError
from tests.support.events import received, redelivery_requested

TENANT = "acme"


class CountingEventStore(InMemoryEventStore):
    """The memory store, counting the streams read."""

    reads = 0
    index_reads = 0

    def _load(self, stream: StreamId) -> list[RecordedEvent]:
        self.reads += 1
        return super()._load(stream)

    def _index_range(
        self, tenant_id: str, shard: int, lower: str, upper: str, limit: int
    ) -> tuple[list[RecordedEvent], bool]:
        self.index_reads += 1
        return super()._index_range(tenant_id, shard, lower, upper, limit)


class Record:
    """Five streams and two anchors; then sub_a and sub_f change after the last anchor."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.events = CountingEventStore()
        self.anchors = InMemoryAnchorStore()
        self.anchoring = Anchoring(self.events, self.anchors, InMemoryAnchoredHeads(), self.clock)
        self.cursors = CursorSigner(lambda: b"k" * 32)
        self.verification = TenantVerification(self.events, self.anchors, self.cursors)
        for name in ("sub_a", "sub_b", "sub_c", "sub_d", "sub_e"):
            self.append(name, received, 0)
        self.clock.advance(60)
        assert self.anchoring.take(TENANT) is not None
        self.append("sub_b", redelivery_requested, 1)
        self.clock.advance(60)
        assert self.anchoring.take(TENANT) is not None
        self.clock.advance(120)
        self.append("sub_a", redelivery_requested, 1)
        self.append("sub_f", received, 0)

    def append(self, name: str, event: Callable[[str], NewEvent], version: int) -> None:
        at = rfc3339(self.clock.now() - timedelta(seconds=10))
        self.events.append(StreamId(TENANT, name), [event(at)], version)

    @property
    def streams(self) -> dict[StreamId, list[RecordedEvent]]:
        return self.events._streams

    def pages(self, limit: int = 100, since: str | None = None) -> list[dict[str, Any]]:
        """Every page of the walk, each with the streams it read."""
        pages, cursor = [], None
        while True:
            self.events.reads = self.events.index_reads = 0
            query = VerifyQuery(TENANT, since, limit, cursor)
            page = self.verification.page(query, now=rfc3339(self.clock.now())).to_dict()
            pages.append(
                {**page, "reads": self.events.reads, "index_reads": self.events.index_reads}
            )
            cursor = page["next_cursor"]
            if cursor is None:
                return pages
            assert len(pages) < 200, "the walk does not end"

    def whole(self) -> set[tuple[str, str]]:
        """What the CLI's whole-record check finds: (kind, id)."""
        objects = {s: self.anchors.raw(TENANT, s) or b"" for s in self.anchors.sequences(TENANT)}
        verdict = verify_tenant(
            TENANT,
            anchor_objects=objects,
            streams=lambda name: list(self.streams.get(StreamId(TENANT, name), [])),
        )
        return {(f.kind, f.id) for f in verdict.findings}


def found(pages: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["kind"], f["id"]) for page in pages for f in page["findings"]}


def total(pages: list[dict[str, Any]], name: str) -> int:
    return sum(page[name] for page in pages)


@pytest.fixture
def record() -> Record:
    return Record()


LIMITS = (1, 2, 3, 100)


@pytest.mark.parametrize("limit", LIMITS)
def test_an_untouched_record_verifies_at_any_page_size(record: Record, limit: int) -> None:
    pages = record.pages(limit)
    assert found(pages) == set()
    # anchor 1 took in five heads, anchor 2 sub_b's new head and the ledger's first event
    assert total(pages, "anchored") == 7
    assert total(pages, "anchors") == 2
    # sub_a and sub_f changed after the last anchor, and so did the ledger (anchor 2's event)
    assert total(pages, "unanchored") == 3
    assert (len(pages) > 1) is (limit < 10)


@pytest.mark.parametrize("limit", LIMITS)
def test_each_page_reads_about_its_limit_of_streams(record: Record, limit: int) -> None:
    for page in record.pages(limit):
        assert page["reads"] <= limit + TENANT_INDEX_SHARDS


def test_a_stream_with_many_unanchored_events_costs_index_reads_too(record: Record) -> None:
    # Given sub_f with 200 events after the last anchor (one stream: one stream read a page)
    for version in range(1, 201):
        record.append("sub_f", redelivery_requested, version)
    pages = record.pages(10)
    # Then no page reads the index more often than its limit, and the walk still ends
    assert max(page["index_reads"] for page in pages) <= 10
    assert found(pages) == set() and total(pages, "unanchored") == 3


def _truncate(record: Record) -> None:
    record.streams[StreamId(TENANT, "sub_b")].pop()


def _delete(record: Record) -> None:
    del record.streams[StreamId(TENANT, "sub_c")]


def _rewrite(record: Record) -> None:
    [event] = record.streams[StreamId(TENANT, "sub_d")]
    forged = dataclasses.replace(event, data={**event.data, "form_id": "other"})
    record.streams[StreamId(TENANT, "sub_d")] = [
        dataclasses.replace(forged, hash=chain_hash(forged.prev_hash, forged.body()))
    ]


def _lose_anchor(record: Record) -> None:
    del record.anchors.objects["anchors/acme/000000000001.json"]


def _alter_anchor(record: Record) -> None:
    key = "anchors/acme/000000000002.json"
    record.anchors.objects[key] = record.anchors.objects[key].replace(b'"sub_b"', b'"sub_z"')


@pytest.mark.parametrize("tamper", [_truncate, _delete, _rewrite, _lose_anchor, _alter_anchor])
@pytest.mark.parametrize("limit", LIMITS)
def test_the_pages_find_what_the_whole_record_check_finds(
    record: Record, tamper: Callable[[Record], None], limit: int
) -> None:
    tamper(record)
    whole = record.whole()
    assert whole
    assert found(record.pages(limit)) == whole


def test_a_stream_changed_after_the_last_anchor_is_checked_by_its_chain(record: Record) -> None:
    # Given sub_f, which no anchor took in yet, edited behind the store's back
    [event] = record.streams[StreamId(TENANT, "sub_f")]
    record.streams[StreamId(TENANT, "sub_f")] = [
        dataclasses.replace(event, data={**event.data, "payload": {"forged": True}})
    ]
    # Then the walk names it, with its version, though the CLI's anchor check cannot
    assert ("stream", "sub_f") not in record.whole()
    findings = [f for page in record.pages(2) for f in page["findings"]]
    assert findings == [
        {
            "kind": "stream",
            "id": "sub_f",
            "version": 1,
            "reason": "altered: the event's hash does not match its body",
        }
    ]


def test_a_tenant_with_no_anchor_has_every_stream_checked_by_its_chain() -> None:
    events = InMemoryEventStore()
    for n in range(7):
        events.append(StreamId(TENANT, f"sub_{n}"), [received()], 0)
    verification = TenantVerification(events, InMemoryAnchorStore(), CursorSigner(lambda: b"k"))
    pages, cursor = [], None
    while True:
        page = verification.page(
            VerifyQuery(TENANT, None, 2, cursor), now=rfc3339(ManualClock().now())
        )
        pages.append(page.to_dict())
        if (cursor := page.next_cursor) is None:
            break
    assert total(pages, "unanchored") == 7 and total(pages, "anchored") == 0
    assert found(pages) == set()


def test_since_leaves_out_the_heads_of_earlier_anchors(record: Record) -> None:
    second = record.anchors.get(TENANT, 2)
    assert second is not None
    pages = record.pages(since=second.created_at)
    assert total(pages, "anchors") == 1 and total(pages, "anchored") == 2


def test_the_ledger_is_one_of_the_streams_checked(record: Record) -> None:
    record.streams[StreamId(TENANT, LEDGER_STREAM)].pop(0)
    assert ("stream", LEDGER_STREAM) in found(record.pages(3))


def test_a_cursor_opens_only_its_own_walk(record: Record) -> None:
    cursor = record.pages(1)[0]["next_cursor"]
    now = rfc3339(record.clock.now())
    for query in (
        VerifyQuery("rival", None, 1, cursor),  # another tenant's
        VerifyQuery(TENANT, "2020-01-01T00:00:00.000000Z", 1, cursor),  # another since
        VerifyQuery(TENANT, None, 1, cursor[:-2] + "AA"),  # edited
    ):
        with pytest.raises(InvalidCursorError):
            record.verification.page(query, now=now)
    # A cursor of another purpose, sealed with the same key, is refused too
    export = record.cursors.seal({"purpose": "audit-events", "tenant_id": TENANT}, {"0": "~"})
    with pytest.raises(InvalidCursorError):
        record.verification.page(VerifyQuery(TENANT, None, 1, export), now=now)


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-01-01T00:00:00"},  # no zone
        {"since": "yesterday"},
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "²"},
        {"tenant_id": "rival"},
        {"until": "2026-01-01T00:00:00Z"},
        {"cursor": ""},
    ],
)
def test_malformed_parameters_are_refused(params: dict[str, str]) -> None:
    with pytest.raises(InvalidListingQueryError):
        parse_verify_query(TENANT, params)


def test_a_repeated_parameter_is_refused() -> None:
    with pytest.raises(InvalidListingQueryError, match="repeated"):
        parse_verify_query(TENANT, {"since": "2026-01-01T00:00:00Z"}, repeated=True)


def test_good_parameters_are_normalised() -> None:
    query = parse_verify_query(TENANT, {"since": "2026-01-01T01:00:00+01:00", "limit": "7"})
    assert (query.since, query.limit, query.cursor) == ("2026-01-01T00:00:00.000000Z", 7, None)
