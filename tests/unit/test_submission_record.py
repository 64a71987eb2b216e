"""One submission's record against its anchor, on the fakes: a missing or altered anchor
object fails verification (never a 500, never a pass), and another tenant finds nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from formrelay.audit.anchoring import Anchoring
from formrelay.audit.memory import InMemoryAnchoredHeads, InMemoryAnchorStore
from formrelay.audit.proofs import SubmissionRecord, root_from_proof
from formrelay.domain.clock import ManualClock, rfc3339
from formrelay.domain.errors import UnknownSubmissionError
from formrelay.domain.events import StreamId
from formrelay.store.memory import InMemoryEventStore
from tests.support.events import received

SUB = "sub_0123456789abcdef0123456789abcdef"


@pytest.fixture
def world() -> tuple[SubmissionRecord, InMemoryAnchorStore]:
    clock = ManualClock()
    events, anchors, heads = InMemoryEventStore(), InMemoryAnchorStore(), InMemoryAnchoredHeads()
    at = rfc3339(clock.now() - timedelta(seconds=30))
    for name in (SUB, "sub_other"):
        events.append(StreamId("acme", name), [received(at)], 0)
    assert Anchoring(events, anchors, heads, clock).take("acme") is not None
    return SubmissionRecord(events, heads, anchors), anchors


def test_an_anchored_record_verifies_and_proves(
    world: tuple[SubmissionRecord, InMemoryAnchorStore],
) -> None:
    record, _ = world
    answer = record.proof("acme", SUB)
    proof = answer["proof"]
    assert answer["verified"] is True and answer["anchored"]["covers_head"] is True
    path = proof["audit_path"]
    tree = proof["anchor"]["tree_size"]
    assert (
        root_from_proof(proof["leaf"], proof["leaf_index"], tree, path) == (proof["anchor"]["root"])
    )


@pytest.mark.parametrize("tamper", ["delete", "alter"])
def test_a_missing_or_altered_anchor_fails_verification(
    world: tuple[SubmissionRecord, InMemoryAnchorStore], tamper: str
) -> None:
    record, anchors = world
    key = next(iter(anchors.objects))
    if tamper == "delete":
        del anchors.objects[key]
    else:
        anchors.objects[key] = anchors.objects[key].replace(b'"version":1', b'"version":2')
    verdict = record.verdict("acme", SUB)
    assert verdict.verified is False
    assert verdict.first_bad is not None and "anchor 000000000001" in verdict.first_bad.reason
    assert record.proof("acme", SUB)["proof"] is None


def test_another_tenant_finds_no_record(
    world: tuple[SubmissionRecord, InMemoryAnchorStore],
) -> None:
    record, _ = world
    with pytest.raises(UnknownSubmissionError):
        record.verdict("rival", SUB)
    with pytest.raises(UnknownSubmissionError):
        record.proof("rival", SUB)
