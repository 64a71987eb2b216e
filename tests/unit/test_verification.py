"""Verifying a stream names its first bad link: every kind of tampering, and none."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formrelay.audit.heads import AnchoredHead
from formrelay.audit.verification import STREAM_DELETED, verify_stream
from formrelay.domain.errors import StreamNotFoundError
from formrelay.domain.events import NewEvent, RecordedEvent, StreamId
from formrelay.domain.hashing import GENESIS_HASH, chain_hash, seal

STREAM = StreamId("acme", "sub-1")


def recorded(count: int, stream: StreamId = STREAM) -> list[RecordedEvent]:
    news = [
        NewEvent(type="delivery.failed", data={"n": n}, correlation_id="c") for n in range(count)
    ]
    return seal(stream, news, after_version=0, prev_hash=GENESIS_HASH)


def head(events: list[RecordedEvent], version: int | None = None) -> AnchoredHead:
    at = events[(version or len(events)) - 1]
    return AnchoredHead(STREAM.submission_id, at.version, at.hash, "000000000007", 3)


def first_bad(events: list[RecordedEvent], anchored: AnchoredHead | None = None) -> object:
    verdict = verify_stream(events, anchored=anchored, stream=STREAM)
    assert verdict.verified is (verdict.first_bad is None)
    return verdict.to_dict()["first_bad"]


@given(st.integers(min_value=1, max_value=12), st.data())
def test_an_untouched_stream_verifies_anchored_or_not(count: int, data: st.DataObject) -> None:
    events = recorded(count)
    at = data.draw(st.integers(min_value=1, max_value=count))
    for anchored in (None, head(events, at)):
        verdict = verify_stream(events, anchored=anchored, stream=STREAM)
        assert verdict.to_dict()["verified"] is True
        assert verdict.first_bad is None
    # The head is covered by the anchor only when the anchor took in the last event.
    answer = verify_stream(events, anchored=head(events, at), stream=STREAM).to_dict()
    assert answer["anchored"] == {
        "anchor_id": "000000000007",
        "version": at,
        "hash": events[at - 1].hash,
        "leaf_index": 3,
        "covers_head": at == count,
    }
    assert verify_stream(events, anchored=None).to_dict()["anchored"] is None


@given(st.integers(min_value=1, max_value=8), st.data())
def test_an_edited_field_is_named_at_its_version(count: int, data: st.DataObject) -> None:
    events = recorded(count)
    victim = data.draw(st.integers(min_value=0, max_value=count - 1))
    field = data.draw(st.sampled_from(["data", "type", "occurred_at", "correlation_id"]))
    value = {"n": "edited"} if field == "data" else "edited"
    events[victim] = dataclasses.replace(events[victim], **{field: value})
    assert first_bad(events) == {
        "version": victim + 1,
        "reason": "altered: the event's hash does not match its body",
    }


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link() -> None:
    events = recorded(3)
    edited = dataclasses.replace(events[1], data={"n": "edited"})
    events[1] = dataclasses.replace(edited, hash=chain_hash(edited.prev_hash, edited.body()))
    bad = first_bad(events)
    assert isinstance(bad, dict)
    assert bad["version"] == 3
    assert bad["reason"].startswith("does not link")


@given(st.integers(min_value=3, max_value=8), st.data())
def test_a_deleted_middle_event_is_a_gap(count: int, data: st.DataObject) -> None:
    events = recorded(count)
    victim = data.draw(st.integers(min_value=1, max_value=count - 2))
    del events[victim]
    assert first_bad(events) == {
        "version": victim + 1,
        "reason": f"missing: the stream goes from version {victim} to {victim + 2}",
    }


def test_a_deleted_first_event_is_a_gap() -> None:
    events = recorded(3)[1:]
    assert first_bad(events) == {
        "version": 1,
        "reason": "missing: the stream goes from version 0 to 2",
    }


def test_an_inserted_event_does_not_link() -> None:
    # A forged event, self-consistent and with the next free version, hashes to itself
    # but does not chain onto the event before it.
    events = recorded(3)
    forged = seal(
        STREAM,
        [NewEvent(type="delivery.failed", data={"n": "forged"}, correlation_id="c")],
        after_version=3,
        prev_hash="e" * 64,
    )
    assert first_bad(events + forged) == {
        "version": 4,
        "reason": "does not link: its prev_hash is not the hash of version 3 "
        "(an event inserted or removed before it)",
    }
    assert first_bad(recorded(4)) is None


def test_a_first_event_not_starting_from_genesis_does_not_link() -> None:
    forged = seal(
        STREAM,
        [NewEvent(type="delivery.failed", data={}, correlation_id="c")],
        after_version=0,
        prev_hash="a" * 64,
    )
    bad = first_bad(forged)
    assert isinstance(bad, dict)
    assert (bad["version"], bad["reason"]) == (
        1,
        "does not link: the first event does not start from the genesis hash",
    )


@given(st.integers(min_value=2, max_value=8), st.data())
def test_two_swapped_versions_are_reordered(count: int, data: st.DataObject) -> None:
    events = recorded(count)
    i = data.draw(st.integers(min_value=0, max_value=count - 2))
    j = data.draw(st.integers(min_value=i + 1, max_value=count - 1))
    events[i], events[j] = events[j], events[i]
    assert first_bad(events) == {
        "version": i + 1,
        "reason": f"reordered: version {j + 1} stands where {i + 1} belongs",
    }


def test_a_repeated_version_is_out_of_order() -> None:
    events = recorded(3)
    assert first_bad([*events[:2], events[1]]) == {
        "version": 3,
        "reason": "out of order: version 2 appears again after 2",
    }


def test_an_event_of_another_stream_is_named() -> None:
    # The first event of another stream is self-consistent and starts at genesis.
    events = recorded(3)
    events[0] = recorded(1, StreamId("acme", "sub-2"))[0]
    assert first_bad(events) == {"version": 1, "reason": "the event belongs to another stream"}


@given(st.integers(min_value=2, max_value=8), st.data())
def test_a_cut_tail_below_the_anchored_head_is_truncation(count: int, data: st.DataObject) -> None:
    events = recorded(count)
    anchored = head(events)
    kept = data.draw(st.integers(min_value=1, max_value=count - 1))
    # What is left still links: only the anchor shows what is gone.
    assert verify_stream(events[:kept], anchored=None).verified is True
    assert first_bad(events[:kept], anchored) == {
        "version": kept + 1,
        "reason": f"truncated: the stream ends at version {kept}, "
        f"anchor 000000000007 took it in at version {count}",
    }


def test_a_cut_tail_above_the_anchored_head_is_not_seen() -> None:
    # Events after the anchored version are covered by their chain only.
    events = recorded(5)
    verdict = verify_stream(events[:4], anchored=head(events, 3), stream=STREAM)
    assert verdict.verified is True
    assert verdict.to_dict()["anchored"]["covers_head"] is False


def test_a_stream_rewritten_whole_differs_from_its_anchored_hash() -> None:
    events = recorded(3)
    anchored = head(events)
    forged = seal(
        STREAM,
        [
            NewEvent(type="delivery.failed", data={"n": n * 10}, correlation_id="c")
            for n in range(4)
        ],
        after_version=0,
        prev_hash=GENESIS_HASH,
    )
    assert verify_stream(forged, anchored=None).verified is True
    assert first_bad(forged, anchored) == {
        "version": 3,
        "reason": "rewritten: the hash of version 3 is not the one anchor 000000000007 took in",
    }


def test_the_earliest_finding_wins() -> None:
    # Event 2 of 5 deleted, anchored at 5: the gap at 2 comes before the truncation.
    events = recorded(5)
    anchored = head(events)
    assert first_bad(events[:1] + events[2:], anchored) == {
        "version": 2,
        "reason": "missing: the stream goes from version 1 to 3",
    }


def test_a_deleted_anchored_stream_fails_to_verify() -> None:
    anchored = head(recorded(2))
    verdict = verify_stream([], anchored=anchored, stream=STREAM)
    assert verdict.to_dict() == {
        "verified": False,
        "first_bad": {"version": 1, "reason": STREAM_DELETED},
        "anchored": {
            "anchor_id": "000000000007",
            "version": 2,
            "hash": anchored.hash,
            "leaf_index": 3,
            "covers_head": False,
        },
        "events": 0,
    }


def test_no_events_and_no_anchor_is_an_unknown_stream() -> None:
    with pytest.raises(StreamNotFoundError):
        verify_stream([], anchored=None, stream=STREAM)
