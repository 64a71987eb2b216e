"""Anchors on the local stack: `formrelay audit anchor` anchors a tenant's delivered
submissions on the emulated S3 bucket; `audit verify` and `audit proof` check them through
the API (the proof recomputed from the anchor object as stored); a tail cut from the Events
table afterwards makes verification fail, by version and reason, and the CLI exit 1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from formrelay.audit.proofs import root_from_proof
from formrelay.cli.main import main
from formrelay.client import FormrelayClient
from formrelay.domain.events import StreamId
from formrelay.store.items import stream_key, version_key
from tests.e2e.conftest import RunningStack

TENANT = "anchorco"


@dataclass
class Anchored:
    stack: RunningStack
    owner: FormrelayClient
    credentials: list[str]
    submission_ids: list[str]


def _cli(*args: str) -> int:
    """`formrelay audit ...` in this process."""
    return main(["audit", *args])


@pytest.fixture(scope="module")
def anchored(stack: RunningStack) -> Anchored:
    seeded = stack.seed_second_tenant(TENANT)
    owner = stack.client(seeded["key_id"], seeded["secret"])
    ids = []
    for n in range(2):
        accepted = owner.submit("contact", {"topic": f"t{n}"})
        assert accepted.status_code == 202, accepted.text
        ids.append(accepted.json()["submission_id"])
    for submission_id in ids:
        stack.wait_for(
            lambda s=submission_id: owner.status(s).json().get("status") == "delivered",
            what=f"{submission_id} delivered",
        )
    credentials = ["--endpoint", stack.endpoint, "--key-id", seeded["key_id"]]
    credentials += ["--secret", seeded["secret"]]
    return Anchored(stack, owner, credentials, ids)


def _anchor_every_head(anchored: Anchored) -> None:
    """Run `formrelay audit anchor` until every submission's head is anchored (the anchor
    takes in events a few seconds old: the tenant index lags appends). Idempotent, so each
    test that needs anchored heads makes sure of them itself."""
    state_dir = str(anchored.stack.log_path.parent)

    def covered() -> bool:
        assert _cli("anchor", "--tenant", TENANT, "--state-dir", state_dir) == 0
        verdicts = [anchored.owner.verify(s).json() for s in anchored.submission_ids]
        return all(v["anchored"] and v["anchored"]["covers_head"] for v in verdicts)

    anchored.stack.wait_for(
        covered,
        timeout=60,
        what="every submission's head anchored",
        describe=lambda: [anchored.owner.verify(s).json() for s in anchored.submission_ids],
    )


def test_before_any_anchor_a_record_verifies_by_its_chain_alone(anchored: Anchored) -> None:
    answer = anchored.owner.verify(anchored.submission_ids[0])
    assert answer.status_code == 200, answer.text
    assert answer.json()["verified"] is True
    proof = anchored.owner.proof(anchored.submission_ids[0]).json()
    if proof["anchored"] is None:  # the schedule may not have run yet: nothing to prove
        assert proof["proof"] is None


def test_anchored_submissions_verify_and_prove_against_the_stored_anchor(
    anchored: Anchored, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state_dir = str(anchored.stack.log_path.parent)
    _anchor_every_head(anchored)
    capsys.readouterr()

    for submission_id in anchored.submission_ids:
        assert _cli("verify", submission_id, *anchored.credentials) == 0
        assert _cli("proof", submission_id, *anchored.credentials) == 0
    proof = anchored.owner.proof(anchored.submission_ids[0]).json()["proof"]

    # The anchor object on the bucket is the one the proof leads to.
    s3 = anchored.stack.aws.client("s3", endpoint_url=anchored.stack.demo["aws_endpoint"])
    bucket = anchored.stack.demo["anchors_bucket"]
    stored = json.loads(s3.get_object(Bucket=bucket, Key=proof["anchor"]["key"])["Body"].read())
    assert stored["root"] == proof["anchor"]["root"]
    assert stored["tenant_id"] == TENANT
    assert (
        root_from_proof(
            proof["leaf"], proof["leaf_index"], stored["tree_size"], proof["audit_path"]
        )
        == stored["root"]
    )
    locked = s3.head_object(Bucket=bucket, Key=proof["anchor"]["key"])
    assert locked["ObjectLockMode"] == "COMPLIANCE"

    # And the tenant's whole record verifies against every anchor, online and offline
    assert _cli("verify", "--tenant", TENANT, "--state-dir", state_dir) == 0
    assert _offline(anchored, tmp_path) == 0


def _offline(anchored: Anchored, directory: Path) -> int:
    """Export the tenant's whole history and copy its anchor objects, then verify offline."""
    directory.mkdir(parents=True, exist_ok=True)
    export = directory / f"export-{len(list(directory.iterdir()))}.ndjson"
    assert (
        _cli("export", "--since", "2000-01-01T00:00:00Z", "-o", str(export), *anchored.credentials)
        == 0
    )
    s3 = anchored.stack.aws.client("s3", endpoint_url=anchored.stack.demo["aws_endpoint"])
    bucket = anchored.stack.demo["anchors_bucket"]
    copies = directory / "anchors"
    for listed in s3.list_objects_v2(Bucket=bucket, Prefix=f"anchors/{TENANT}/")["Contents"]:
        target = copies / listed["Key"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read())
    return _cli("verify", "--export", str(export), "--anchors", str(copies))


def test_a_tail_cut_after_anchoring_fails_verification_and_the_cli(
    anchored: Anchored, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the anchored head of a submission deleted from the Events table
    _anchor_every_head(anchored)
    submission_id = anchored.submission_ids[1]
    verdict = anchored.owner.verify(submission_id).json()
    head = verdict["anchored"]["version"]
    anchored.stack.dynamodb().delete_item(
        TableName=anchored.stack.table("EventsTable"),
        Key={
            "pk": {"S": stream_key(StreamId(TENANT, submission_id))},
            "sk": {"S": version_key(head)},
        },
    )

    # Then the API names the cut, and the CLI exits 1
    answer = anchored.owner.verify(submission_id).json()
    assert answer["verified"] is False
    assert answer["first_bad"]["version"] == head
    assert answer["first_bad"]["reason"].startswith("truncated")
    capsys.readouterr()
    assert _cli("verify", submission_id, *anchored.credentials) == 1
    assert _cli("proof", submission_id, *anchored.credentials) == 1

    # And the tenant-wide check names the submission, online and offline
    state_dir = str(anchored.stack.log_path.parent)
    capsys.readouterr()
    assert _cli("verify", "--tenant", TENANT, "--state-dir", state_dir, "--json") == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["kind"], f["id"]) for f in findings] == [("stream", submission_id)]
    assert _offline(anchored, tmp_path) == 1
