"""Rebuild equals live projection: for random histories of several submissions and tenants,
the views a rebuild stores from the event store are the views the live projection stored
from stream batches handed to it duplicated, redelivered and out of order."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from formrelay.domain.events import LEDGER_STREAM, NewEvent, RecordedEvent, StreamId
from formrelay.domain.hashing import GENESIS_HASH, seal
from formrelay.store.memory import InMemoryEventStore
from formrelay.views.rebuild import rebuild_tenant, submissions_of
from formrelay.views.status import fold
from tests.support.events import received
from tests.unit.test_status_fold import (
    DESTINATIONS,
    _stories,
    interleaved,
    stream_batches,
)

TENANTS = ("acme", "rival")


class Views:
    """Status views kept newer-version-wins, as StatusViews.put's condition keeps them."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], dict[str, Any]] = {}

    def put(self, tenant_id: str, view: dict[str, Any]) -> bool:
        key = (tenant_id, view["submission_id"])
        held = self.stored.get(key)
        if held is not None and held["version"] > view["version"]:
            return False
        self.stored[key] = copy.deepcopy(view)
        return True


@st.composite
def histories(draw: st.DrawFn) -> dict[StreamId, list[NewEvent]]:
    """One to three submissions per tenant, each a random delivery history."""
    streams: dict[StreamId, list[NewEvent]] = {}
    for tenant in TENANTS:
        for n in range(draw(st.integers(min_value=1, max_value=3))):
            story = draw(interleaved(draw(_stories())))
            streams[StreamId(tenant, f"sub-{n}")] = [received(destinations=DESTINATIONS), *story]
    return streams


def recorded(store: InMemoryEventStore, streams: dict[StreamId, list[NewEvent]]) -> None:
    """The histories sealed into the store as appended (by the back end's own hook: the
    stories are the status fold's, some of whose events the event schemas would refuse)."""
    for stream, events in streams.items():
        store._insert(seal(stream, events, after_version=0, prev_hash=GENESIS_HASH))
    # The tenant's ledger stream is in the store too: it has no status view.
    ledger = StreamId(TENANTS[0], LEDGER_STREAM)
    store.append(ledger, [received(destinations=[])], 0)


def live_projection(
    data: st.DataObject, store: InMemoryEventStore, streams: list[StreamId], views: Views
) -> None:
    """Each stream's records handed to the projection (duplicated, redelivered, reordered, the
    streams' batches interleaved), each handled by folding the stream as read then."""
    handed: list[tuple[list[RecordedEvent], int]] = []
    for stream in streams:
        events = store.read(stream)
        batches = data.draw(stream_batches(len(events)))
        batches.append((len(events), len(events)))  # the last record, with the whole stream
        handed += [(events, seen) for _record, seen in batches]
    for events, seen in data.draw(st.permutations(handed)):
        views.put(events[0].stream.tenant_id, fold(events[:seen]))


def rebuild(store: InMemoryEventStore, views: Views) -> list[str]:
    refused: list[str] = []
    for tenant in TENANTS:
        ids = list(submissions_of(tenant, store))
        report = rebuild_tenant(tenant, ids, events=store, views=views)
        assert report.submissions == len(ids)
        refused += report.refused
    return refused


@settings(max_examples=60, deadline=None)
@given(data=st.data(), streams=histories())
def test_a_rebuild_stores_the_views_the_live_projection_stored(
    data: st.DataObject, streams: dict[StreamId, list[NewEvent]]
) -> None:
    # Given the histories in the event store, and the views the live projection stored
    store = InMemoryEventStore()
    recorded(store, streams)
    live = Views()
    live_projection(data, store, list(streams), live)

    # When every view is rebuilt into an empty table, and over the live views
    rebuilt, over_live = Views(), copy.deepcopy(live)
    assert rebuild(store, rebuilt) == []
    assert rebuild(store, over_live) == []

    # Then both hold exactly what the live projection stored
    assert rebuilt.stored == live.stored
    assert over_live.stored == live.stored
    assert set(live.stored) == {(s.tenant_id, s.submission_id) for s in streams}


@settings(max_examples=30, deadline=None)
@given(data=st.data(), streams=histories())
def test_a_rebuild_brings_behind_views_up_to_the_whole_stream(
    data: st.DataObject, streams: dict[StreamId, list[NewEvent]]
) -> None:
    # Given views the live projection left behind: each stream's records handled only
    # while the stream was shorter (a projection stopped before its last batches)
    store = InMemoryEventStore()
    recorded(store, streams)
    behind = Views()
    for stream in streams:
        events = store.read(stream)
        seen = data.draw(st.integers(min_value=1, max_value=len(events)))
        behind.put(stream.tenant_id, fold(events[:seen]))

    # When the views are rebuilt
    assert rebuild(store, behind) == []

    # Then each is the fold of its whole stream
    assert behind.stored == {(s.tenant_id, s.submission_id): fold(store.read(s)) for s in streams}


def test_a_stream_whose_chain_does_not_verify_is_refused_and_the_others_rebuilt() -> None:
    store = InMemoryEventStore()
    good, bad = StreamId("acme", "sub-good"), StreamId("acme", "sub-bad")
    store.append(good, [received(destinations=["crm"])], 0)
    store.append(bad, [received(destinations=["crm"])], 0)
    first = store._streams[bad][0]
    store._streams[bad][0] = RecordedEvent(**{**first.__dict__, "data": {**first.data, "x": 1}})
    views = Views()

    report = rebuild_tenant("acme", list(submissions_of("acme", store)), events=store, views=views)

    assert report.refused == ["sub-bad"]
    assert (report.submissions, report.written) == (2, 1)
    assert set(views.stored) == {("acme", "sub-good")}
