"""Taking anchors: the changed streams' heads under one root, on write-once storage and in
the tenant's ledger; nothing when nothing changed; a stopped run finished, never doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from formrelay.audit.anchoring import Anchoring
from formrelay.audit.anchors import Anchor, StreamHead, leaf_bytes
from formrelay.audit.memory import InMemoryAnchoredHeads, InMemoryAnchorStore
from formrelay.domain.clock import ManualClock
from formrelay.domain.events import AUDIT_ANCHORED, LEDGER_STREAM, NewEvent, StreamId
from formrelay.domain.merkle import root_from_proof
from formrelay.store.memory import InMemoryEventStore

START = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def received(clock: ManualClock) -> NewEvent:
    return NewEvent(
        type="submission.received",
        data={
            "form_id": "contact",
            "form_schema_version": 1,
            "key_id": "demo.0123456789abcdef",
            "body_sha256": "0" * 64,
            "payload": {"name": "Ada"},
            "destinations": ["crm"],
        },
        correlation_id="c",
        occurred_at=clock.timestamp(),
    )


def requested(clock: ManualClock) -> NewEvent:
    return NewEvent(
        type="delivery.redelivery_requested",
        data={"destination_id": "crm", "delivery_id": "d-1", "requested_by": "demo.key"},
        correlation_id="c",
        occurred_at=clock.timestamp(),
    )


class World:
    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.events = InMemoryEventStore()
        self.anchors = InMemoryAnchorStore()
        self.heads = InMemoryAnchoredHeads()
        self.anchoring = Anchoring(self.events, self.anchors, self.heads, self.clock)

    def submit(self, tenant: str, submission: str) -> None:
        self.events.append(StreamId(tenant, submission), [received(self.clock)], 0)

    def ledger(self, tenant: str) -> list[dict[str, object]]:
        stream = StreamId(tenant, LEDGER_STREAM)
        if not self.events.version(stream):
            return []
        return [e.data for e in self.events.read(stream) if e.type == AUDIT_ANCHORED]


def test_an_anchor_holds_the_changed_heads_and_each_proves_its_inclusion() -> None:
    # Given two submissions of demo and one of rival
    world = World()
    world.submit("demo", "s-1")
    world.submit("demo", "s-2")
    world.submit("rival", "r-1")
    world.clock.advance(10)
    # When demo's anchor is taken
    anchor = world.anchoring.take("demo")
    # Then it holds demo's two heads only, in its object, its ledger and the anchored heads
    assert anchor is not None and anchor.sequence == 1 and anchor.previous_root is None
    assert [h.submission_id for h in anchor.heads] == ["s-1", "s-2"]
    assert world.anchors.get("demo", 1) == anchor
    assert world.ledger("demo") == [
        {
            "sequence": 1,
            "root": anchor.root,
            "previous_root": None,
            "tree_size": 2,
            "since": anchor.since,
            "until": anchor.until,
            "key": "anchors/demo/000000000001.json",
        }
    ]
    for head in anchor.heads:
        held = world.heads.head_of("demo", head.submission_id)
        assert held is not None and (held.version, held.hash) == (head.version, head.hash)
        path = [bytes.fromhex(node) for node in anchor.audit_path(held.leaf_index)]
        implied = root_from_proof(leaf_bytes("demo", head), held.leaf_index, 2, path)
        assert implied.hex() == anchor.root
    assert world.heads.head_of("demo", "r-1") is None and world.anchors.sequences("rival") == []


def test_the_next_anchor_chains_to_the_last_and_takes_in_its_ledger_event() -> None:
    world = World()
    world.submit("demo", "s-1")
    world.clock.advance(10)
    first = world.anchoring.take("demo")
    world.clock.advance(120)
    world.events.append(StreamId("demo", "s-1"), [requested(world.clock)], 1)
    world.clock.advance(10)
    second = world.anchoring.take("demo")
    assert first is not None and second is not None
    assert second.sequence == 2 and second.previous_root == first.root
    assert {h.submission_id: h.version for h in second.heads} == {LEDGER_STREAM: 1, "s-1": 2}
    assert world.heads.head_of("demo", "s-1").version == 2  # type: ignore[union-attr]


def test_nothing_changed_takes_no_anchor() -> None:
    world = World()
    assert world.anchoring.take("demo") is None
    world.submit("demo", "s-1")
    # An event younger than the settle margin waits for the next run.
    assert world.anchoring.take("demo") is None
    world.clock.advance(10)
    assert world.anchoring.take("demo") is not None
    world.clock.advance(30)
    # Only the ledger's own event changed since, and s-1 is still at the head anchored
    # (the overlap sees it again): no anchor, however often the schedule runs.
    assert world.anchoring.take("demo") is None
    world.clock.advance(600)
    assert world.anchoring.take("demo") is None
    assert world.anchors.sequences("demo") == [1] and len(world.ledger("demo")) == 1


def test_a_run_stopped_after_writing_the_object_is_finished_not_doubled() -> None:
    # Given an anchor object written by a run that stopped before the ledger knew of it
    world = World()
    world.submit("demo", "s-1")
    world.clock.advance(10)
    head = world.events.read(StreamId("demo", "s-1"))[-1]
    orphan = Anchor.of(
        "demo",
        1,
        [StreamHead("s-1", head.version, head.hash)],
        created_at=world.clock.timestamp(),
        since="0000-01-01T00:00:00.000000Z",
        until=world.clock.timestamp(),
        previous_root=None,
    )
    world.anchors.put(orphan)
    # When the next run comes, then it finishes that anchor rather than taking another
    assert world.anchoring.take("demo") == orphan
    assert [entry["root"] for entry in world.ledger("demo")] == [orphan.root]
    assert world.heads.head_of("demo", "s-1").anchor_id == orphan.anchor_id  # type: ignore[union-attr]
    assert world.anchors.sequences("demo") == [1]


def test_a_stream_seen_again_in_the_overlap_is_not_anchored_back_to_an_earlier_version() -> None:
    # Given a stream of three events anchored at its third
    world = World()
    stream = StreamId("acme", "sub_a")
    world.events.append(
        stream, [received(world.clock), requested(world.clock), requested(world.clock)], 0
    )
    world.clock.advance(10)
    first = world.anchoring.take("acme")
    assert first is not None and first.heads[first.index_of("sub_a") or 0].version == 3

    # When another stream changes and the next anchor's overlap shows all three again
    world.events.append(StreamId("acme", "sub_b"), [received(world.clock)], 0)
    world.clock.advance(10)
    second = world.anchoring.take("acme")

    # Then the next anchor leaves the stream out, and its anchored head stays at version 3
    assert second is not None and second.index_of("sub_a") is None
    assert second.index_of("sub_b") is not None
    head = world.heads.head_of("acme", "sub_a")
    assert head is not None and (head.version, head.anchor_id) == (3, first.anchor_id)


def test_two_runs_racing_for_one_sequence_number_end_in_one_anchor() -> None:
    # Given a rival run that writes its anchor 1 between this run's look and its write
    world = World()
    world.submit("acme", "s-1")
    world.clock.advance(10)
    rival_clock = ManualClock(world.clock.now() + timedelta(seconds=1))
    rival = Anchoring(world.events, world.anchors, world.heads, rival_clock)

    class Racing(InMemoryAnchorStore):
        def _create(self, key: str, body: bytes) -> bool:
            if not self.objects:
                assert rival.take("acme") is not None
            return super()._create(key, body)

    racing = Racing()
    racing.objects = world.anchors.objects  # one bucket, two runs

    # When this run takes its anchor
    taken = Anchoring(world.events, racing, world.heads, world.clock).take("acme")

    # Then it finishes the rival's anchor: one object, one ledger event
    assert taken is not None and taken == world.anchors.get("acme", 1)
    assert racing.sequences("acme") == [1]
    assert [entry["sequence"] for entry in world.ledger("acme")] == [1]
