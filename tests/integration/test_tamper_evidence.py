"""Tampering with the Events table, as someone with write access to it would, is caught:
an edited field, a deleted event, two versions swapped, a cut-off tail, a deleted stream.

The stream is anchored first (S3 with Object Lock, on moto), then tampered with item by
item through DynamoDB itself; the verdict names the first bad version and why, and the
proof of an untouched stream recomputes the root of the anchor object as stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import boto3
import pytest

from formrelay.audit.anchoring import Anchoring
from formrelay.audit.dynamodb import DynamoDBAnchoredHeads
from formrelay.audit.proofs import SubmissionRecord, root_from_proof
from formrelay.audit.s3 import S3AnchorStore
from formrelay.domain.clock import ManualClock, rfc3339
from formrelay.domain.errors import UnknownSubmissionError
from formrelay.domain.events import StreamId
from formrelay.store.dynamodb import DynamoDBEventStore
from formrelay.store.items import stream_key, version_key
from formrelay.tables import keys as vk
from tests.support.events import received, redelivery_requested
from tests.support.template_aws import TemplateAws, template_aws


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


@dataclass
class Anchored:
    """A tenant with one anchored three-event stream, and what checks it."""

    aws: TemplateAws
    tenant: str
    submission: str
    record: SubmissionRecord
    anchors: S3AnchorStore

    def _key(self, version: int) -> dict[str, object]:
        return {
            "pk": {"S": stream_key(StreamId(self.tenant, self.submission))},
            "sk": {"S": version_key(version)},
        }

    def delete(self, version: int) -> None:
        self.aws.dynamodb.delete_item(TableName=self.aws.events_table, Key=self._key(version))

    def get(self, version: int) -> dict[str, object]:
        return self.aws.dynamodb.get_item(
            TableName=self.aws.events_table, Key=self._key(version), ConsistentRead=True
        )["Item"]

    def put(self, item: dict[str, object]) -> None:
        self.aws.dynamodb.put_item(TableName=self.aws.events_table, Item=item)

    def verdict(self) -> dict[str, object]:
        return self.record.verdict(self.tenant, self.submission).to_dict()


@pytest.fixture
def anchored(aws: TemplateAws) -> Anchored:
    clock = ManualClock()
    events = DynamoDBEventStore(aws.events_table, aws.dynamodb)
    heads = DynamoDBAnchoredHeads(aws.views_table, aws.dynamodb)
    anchors = S3AnchorStore(aws.resources["AnchorsBucket"]["Ref"], boto3.client("s3"))
    tenant, submission = f"t{uuid.uuid4().hex[:10]}", f"sub_{uuid.uuid4().hex}"
    for name in (submission, f"sub_{uuid.uuid4().hex}"):  # a second stream in the tree
        when = rfc3339(clock.now() - timedelta(seconds=60))
        events.append(
            StreamId(tenant, name),
            [received(when), redelivery_requested(when), redelivery_requested(when)],
            0,
        )
    taken = Anchoring(events, anchors, heads, clock).take(tenant)
    assert taken is not None and len(taken.heads) == 2
    return Anchored(aws, tenant, submission, SubmissionRecord(events, heads, anchors), anchors)


def test_an_untouched_anchored_stream_verifies_and_its_proof_gives_the_stored_root(
    anchored: Anchored,
) -> None:
    verdict = anchored.verdict()
    assert verdict["verified"] is True and verdict["first_bad"] is None
    assert verdict["anchored"]["version"] == 3 and verdict["anchored"]["covers_head"] is True

    proof = anchored.record.proof(anchored.tenant, anchored.submission)["proof"]
    stored = json.loads(anchored.anchors.raw(anchored.tenant, 1) or b"")
    assert proof["anchor"]["root"] == stored["root"]
    assert (
        root_from_proof(
            proof["leaf"], proof["leaf_index"], proof["anchor"]["tree_size"], proof["audit_path"]
        )
        == stored["root"]
    )


def test_an_edited_field_is_named_altered_at_its_version(anchored: Anchored) -> None:
    item = anchored.get(2)
    item["data"] = {"S": item["data"]["S"].replace("d-1", "d-2")}
    anchored.put(item)
    assert anchored.verdict()["first_bad"]["version"] == 2
    assert anchored.verdict()["first_bad"]["reason"].startswith("altered")


def test_a_deleted_event_in_the_middle_is_named_missing(anchored: Anchored) -> None:
    anchored.delete(2)
    bad = anchored.verdict()["first_bad"]
    assert bad["version"] == 2 and bad["reason"].startswith("missing")


def test_two_versions_swapped_are_caught_at_the_first(anchored: Anchored) -> None:
    one, two = anchored.get(1), anchored.get(2)
    anchored.put({**two, "sk": one["sk"]})
    anchored.put({**one, "sk": two["sk"]})
    verdict = anchored.verdict()
    assert verdict["verified"] is False and verdict["first_bad"]["version"] == 1


def test_a_cut_off_tail_still_links_but_is_named_truncated(anchored: Anchored) -> None:
    anchored.delete(3)
    bad = anchored.verdict()["first_bad"]
    assert bad["version"] == 3 and bad["reason"].startswith("truncated")


def test_a_deleted_stream_is_reported_not_taken_for_one_never_made(anchored: Anchored) -> None:
    for version in (1, 2, 3):
        anchored.delete(version)
    verdict = anchored.verdict()
    assert verdict["verified"] is False and verdict["first_bad"]["reason"] == "stream deleted"
    # Another tenant asking for it finds nothing at all: 404, not "deleted".
    with pytest.raises(UnknownSubmissionError):
        anchored.record.verdict(f"{anchored.tenant}x", anchored.submission)


def test_a_tail_cut_with_its_anchored_head_rewritten_to_match_is_still_caught(
    anchored: Anchored,
) -> None:
    # Given the last event deleted and the anchored-head item made to agree with the rest
    two = anchored.get(2)
    anchored.delete(3)
    key = {"pk": {"S": vk.status_pk(anchored.tenant, anchored.submission)}, "sk": {"S": "ANCHORED"}}
    anchored.aws.dynamodb.update_item(
        TableName=anchored.aws.views_table,
        Key=key,
        UpdateExpression="SET #v = :v, #h = :h",
        ExpressionAttributeNames={"#v": "version", "#h": "hash"},
        ExpressionAttributeValues={":v": {"N": "2"}, ":h": two["hash"]},
    )

    # Then the anchor object, which the item no longer matches, gives it away
    verdict = anchored.verdict()
    assert verdict["verified"] is False
    assert "not the one anchor 000000000001 holds" in verdict["first_bad"]["reason"]
