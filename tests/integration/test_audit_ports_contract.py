"""The audit ports' contracts: the in-memory fakes and the AWS adapters (S3 with Object
Lock, the Views table, on moto) behave alike."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from formrelay.audit.anchor_store import AnchorStore
from formrelay.audit.anchors import Anchor, StreamHead
from formrelay.audit.dynamodb import DynamoDBAnchoredHeads
from formrelay.audit.errors import AnchorConflictError, AnchorDocumentError
from formrelay.audit.heads import AnchoredHead, AnchoredHeads
from formrelay.audit.memory import InMemoryAnchoredHeads, InMemoryAnchorStore
from formrelay.audit.s3 import S3AnchorStore
from tests.support.template_aws import TemplateAws, template_aws

HASH_A, HASH_B = "a" * 64, "b" * 64
SUB = "sub_0123456789abcdef0123456789abcdef"


def _anchor(tenant: str, sequence: int, *heads: StreamHead) -> Anchor:
    return Anchor.of(
        tenant,
        sequence,
        heads or (StreamHead(SUB, 1, HASH_A),),
        created_at="2026-12-03T10:00:00.000000Z",
        since="2026-12-03T09:55:00.000000Z",
        until="2026-12-03T09:59:55.000000Z",
        previous_root=None,
    )


@pytest.fixture
def tenant() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


class AnchorStoreContract:
    """What every AnchorStore back end must do."""

    @pytest.fixture
    def store(self) -> Iterator[AnchorStore]:
        raise NotImplementedError

    def test_an_anchor_put_is_read_back_whole(self, store: AnchorStore, tenant: str) -> None:
        anchor = _anchor(tenant, 1, StreamHead(SUB, 3, HASH_A), StreamHead("sub_x", 1, HASH_B))
        store.put(anchor)
        assert store.get(tenant, 1) == anchor
        assert store.raw(tenant, 1) == anchor.to_bytes()
        assert store.get(tenant, 2) is None and store.raw(tenant, 2) is None

    def test_the_same_anchor_again_is_a_no_op(self, store: AnchorStore, tenant: str) -> None:
        store.put(_anchor(tenant, 1))
        store.put(_anchor(tenant, 1))
        assert store.sequences(tenant) == [1]

    def test_another_anchor_under_a_taken_sequence_is_refused_and_the_first_kept(
        self, store: AnchorStore, tenant: str
    ) -> None:
        store.put(_anchor(tenant, 1))
        with pytest.raises(AnchorConflictError):
            store.put(_anchor(tenant, 1, StreamHead(SUB, 2, HASH_B)))
        assert store.get(tenant, 1) == _anchor(tenant, 1)

    def test_sequences_are_the_tenants_own_in_order(self, store: AnchorStore, tenant: str) -> None:
        for sequence in (3, 1, 2):
            store.put(_anchor(tenant, sequence))
        store.put(_anchor(f"{tenant}x", 7))
        assert store.sequences(tenant) == [1, 2, 3]
        assert store.sequences(f"{tenant}x") == [7]
        assert store.get(f"{tenant}x", 1) is None


class TestInMemoryAnchorStore(AnchorStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[AnchorStore]:
        yield InMemoryAnchorStore()

    def test_an_altered_object_is_refused_on_read(self, tenant: str) -> None:
        store = InMemoryAnchorStore()
        store.put(_anchor(tenant, 1))
        key = _anchor(tenant, 1).key
        store.objects[key] = store.objects[key].replace(HASH_A.encode(), HASH_B.encode())
        with pytest.raises(AnchorDocumentError):
            store.get(tenant, 1)


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


class TestS3AnchorStore(AnchorStoreContract):
    @pytest.fixture
    def store(self, aws: TemplateAws) -> Iterator[AnchorStore]:
        yield S3AnchorStore(aws.resources["AnchorsBucket"]["Ref"], _s3())

    def test_the_bucket_locks_each_anchor_in_compliance_mode(
        self, store: S3AnchorStore, tenant: str
    ) -> None:
        # Given an anchor written
        anchor = _anchor(tenant, 1)
        store.put(anchor)
        s3 = _s3()
        version = s3.head_object(Bucket=store.bucket, Key=anchor.key)

        # Then it is locked, and not even its own version can be deleted
        assert version["ObjectLockMode"] == "COMPLIANCE"
        with pytest.raises(s3.exceptions.ClientError) as refused:
            s3.delete_object(Bucket=store.bucket, Key=anchor.key, VersionId=version["VersionId"])
        assert refused.value.response["Error"]["Code"] == "AccessDenied"

    def test_a_version_put_over_an_anchor_or_a_delete_marker_changes_nothing_read(
        self, store: S3AnchorStore, tenant: str
    ) -> None:
        # Given an anchor, then a forged version over its key and a delete marker
        anchor = _anchor(tenant, 1)
        store.put(anchor)
        forged = _anchor(tenant, 1, StreamHead(SUB, 9, HASH_B)).to_bytes()
        s3 = _s3()
        s3.put_object(Bucket=store.bucket, Key=anchor.key, Body=forged, ChecksumAlgorithm="SHA256")
        assert store.get(tenant, 1) == anchor  # the version first written is the anchor
        s3.delete_object(Bucket=store.bucket, Key=anchor.key)

        # Then the anchor is still read, and still listed
        assert store.get(tenant, 1) == anchor
        assert store.sequences(tenant) == [1]


def _s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


class AnchoredHeadsContract:
    """What every AnchoredHeads back end must do."""

    @pytest.fixture
    def heads(self) -> Iterator[AnchoredHeads]:
        raise NotImplementedError

    def test_a_recorded_head_is_read_back(self, heads: AnchoredHeads, tenant: str) -> None:
        head = AnchoredHead(SUB, 3, HASH_A, "000000000001", 0)
        heads.record(tenant, [head])
        assert heads.head_of(tenant, SUB) == head
        assert heads.head_of(tenant, "sub_other") is None

    def test_a_later_anchor_moves_the_head_an_earlier_one_never_moves_it_back(
        self, heads: AnchoredHeads, tenant: str
    ) -> None:
        early = AnchoredHead(SUB, 2, HASH_A, "000000000001", 4)
        late = AnchoredHead(SUB, 5, HASH_B, "000000000002", 1)
        heads.record(tenant, [early])
        heads.record(tenant, [late])
        heads.record(tenant, [early])  # an anchor finished again, late
        assert heads.head_of(tenant, SUB) == late

    def test_heads_are_per_tenant(self, heads: AnchoredHeads, tenant: str) -> None:
        heads.record(tenant, [AnchoredHead(SUB, 1, HASH_A, "000000000001", 0)])
        assert heads.head_of(f"{tenant}x", SUB) is None


class TestInMemoryAnchoredHeads(AnchoredHeadsContract):
    @pytest.fixture
    def heads(self) -> Iterator[AnchoredHeads]:
        yield InMemoryAnchoredHeads()


class TestDynamoDBAnchoredHeads(AnchoredHeadsContract):
    @pytest.fixture
    def heads(self, aws: TemplateAws) -> Iterator[AnchoredHeads]:
        yield DynamoDBAnchoredHeads(aws.views_table, aws.dynamodb)
