"""A tenant's whole record against its anchors, online and offline alike: an untouched
record verifies; a deleted, truncated or rewritten stream, and a missing, altered or
unlinked anchor, are each reported by id."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from formrelay.audit.anchoring import Anchoring
from formrelay.audit.memory import InMemoryAnchoredHeads, InMemoryAnchorStore
from formrelay.audit.tenant_verification import TenantVerdict, streams_of_export, verify_tenant
from formrelay.domain.clock import ManualClock, rfc3339
from formrelay.domain.events import LEDGER_STREAM, NewEvent, StreamId
from formrelay.store.memory import InMemoryEventStore
from tests.support.events import received, redelivery_requested

TENANT = "acme"


class Record:
    """A tenant with three streams and two anchors (the second over a stream that grew)."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.events = InMemoryEventStore()
        self.anchors = InMemoryAnchorStore()
        anchoring = Anchoring(self.events, self.anchors, InMemoryAnchoredHeads(), self.clock)
        for name in ("sub_a", "sub_b", "sub_c"):
            self._append(name, received, 0)
        self.clock.advance(60)
        assert anchoring.take(TENANT) is not None
        self._append("sub_a", redelivery_requested, 1)
        self.clock.advance(60)
        assert anchoring.take(TENANT) is not None

    def _append(self, name: str, event: Callable[[str], NewEvent], version: int) -> None:
        at = rfc3339(self.clock.now() - timedelta(seconds=10))
        self.events.append(StreamId(TENANT, name), [event(at)], version)

    @property
    def streams(self) -> dict[StreamId, list]:  # type: ignore[type-arg]
        return self.events._streams

    def online(self) -> TenantVerdict:
        objects = {s: self.anchors.raw(TENANT, s) or b"" for s in self.anchors.sequences(TENANT)}
        return verify_tenant(
            TENANT,
            anchor_objects=objects,
            streams=lambda name: list(self.streams.get(StreamId(TENANT, name), [])),
        )

    def offline(self) -> TenantVerdict:
        lines = [
            json.dumps(event.to_dict()) for events in self.streams.values() for event in events
        ]
        objects = {s: self.anchors.raw(TENANT, s) or b"" for s in self.anchors.sequences(TENANT)}
        return verify_tenant(
            TENANT, anchor_objects=objects, streams=streams_of_export(lines, TENANT)
        )


@pytest.fixture
def record() -> Record:
    return Record()


def _found(verdict: TenantVerdict) -> set[tuple[str, str, str]]:
    return {(f.kind, f.id, f.reason.split(":")[0]) for f in verdict.findings}


def test_an_untouched_record_verifies_online_and_offline(record: Record) -> None:
    for verdict in (record.online(), record.offline()):
        assert verdict.verified, verdict.findings
        assert verdict.anchors == 2
        # every stream, the ledger among them (its first event is in the second anchor)
        assert verdict.streams == 4


def test_a_deleted_stream_is_reported_by_its_id(record: Record) -> None:
    del record.streams[StreamId(TENANT, "sub_b")]
    for verdict in (record.online(), record.offline()):
        assert _found(verdict) == {("stream", "sub_b", "stream deleted")}


def test_a_truncated_stream_is_reported(record: Record) -> None:
    record.streams[StreamId(TENANT, "sub_a")].pop()
    for verdict in (record.online(), record.offline()):
        [finding] = verdict.findings
        assert (finding.id, "truncated" in finding.reason) == ("sub_a", True)


def test_a_stream_rewritten_with_a_fresh_chain_is_caught_by_the_earlier_anchor(
    record: Record,
) -> None:
    # Given sub_c's only event replaced by another, its hash recomputed to chain cleanly
    from formrelay.domain.hashing import chain_hash

    [event] = record.streams[StreamId(TENANT, "sub_c")]
    forged = dataclasses.replace(event, data={**event.data, "form_id": "other"})
    forged = dataclasses.replace(forged, hash=chain_hash(forged.prev_hash, forged.body()))
    record.streams[StreamId(TENANT, "sub_c")] = [forged]

    for verdict in (record.online(), record.offline()):
        [finding] = verdict.findings
        assert finding.id == "sub_c" and "rewritten" in finding.reason


def test_a_missing_anchor_is_reported_by_its_id(record: Record) -> None:
    del record.anchors.objects["anchors/acme/000000000001.json"]
    assert ("anchor", "000000000001", "missing") in _found(record.online())


def test_an_altered_anchor_is_reported_by_its_id(record: Record) -> None:
    key = "anchors/acme/000000000002.json"
    record.anchors.objects[key] = record.anchors.objects[key].replace(b'"sub_a"', b'"sub_z"')
    assert ("anchor", "000000000002", "altered") in _found(record.online())


def test_an_anchor_replaced_by_a_self_consistent_forgery_breaks_the_chain(record: Record) -> None:
    # Given anchor 2 rebuilt whole (its own root right) without sub_a's new head
    from formrelay.audit.anchors import Anchor

    real = Anchor.from_bytes(record.anchors.objects["anchors/acme/000000000002.json"])
    forged = dataclasses.replace(
        real,
        heads=tuple(h for h in real.heads if h.submission_id != "sub_a"),
        previous_root="0" * 64,
    )
    record.anchors.objects[real.key] = forged.to_bytes()
    found = _found(record.online())
    assert ("anchor", "000000000002", "does not link") in found
    assert ("anchor", "000000000002", "altered") in found  # the ledger recorded another root


def test_the_ledger_stream_is_anchored_like_any_other(record: Record) -> None:
    ledger = record.streams[StreamId(TENANT, LEDGER_STREAM)]
    assert [event.type for event in ledger] == ["audit.anchored", "audit.anchored"]
    ledger.pop(0)
    assert any(f.id == LEDGER_STREAM for f in record.online().findings)


def test_an_export_line_of_another_tenant_is_refused() -> None:
    line = json.dumps({"tenant_id": "rival"})
    with pytest.raises(ValueError, match="line 1"):
        streams_of_export([line], TENANT)
