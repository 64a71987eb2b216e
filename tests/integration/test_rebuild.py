"""`formrelay projections rebuild` on moto: status items deleted or left behind come back exactly
as the live projection wrote them (listing index attributes included), for every tenant or for
the one named; the ledger stream gets no view; a stream that does not verify is named, exit 1.

Given the Events and Views tables of infra/template.yaml on moto, two tenants with submissions
whose views the live projection's code path wrote (fold the stream, put newer-version-wins).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from formrelay.auth.tenants import TenantDirectory
from formrelay.cli.main import main
from formrelay.domain.events import LEDGER_STREAM, StreamId
from formrelay.store.dynamodb import DynamoDBEventStore
from formrelay.store.items import stream_key, version_key
from formrelay.tables import keys as vk
from formrelay.views.status import StatusViews, fold
from tests.integration.test_event_store_contract import attempted, received
from tests.support.template_aws import TemplateAws, template_aws

TENANTS = ("acme", "rival")


@dataclass
class Stack:
    aws: TemplateAws
    events: DynamoDBEventStore
    views: StatusViews

    def status_items(self) -> dict[str, dict[str, Any]]:
        """Every status item of the Views table, by key."""
        items = self.aws.dynamodb.scan(
            TableName=self.aws.views_table,
            FilterExpression="sk = :s",
            ExpressionAttributeValues={":s": {"S": vk.STATUS_SK}},
        )["Items"]
        return {item["pk"]["S"]: item for item in items}

    def rebuild(self, *args: str) -> int:
        return main(
            [
                "projections",
                "rebuild",
                "--events-table",
                self.aws.events_table,
                "--views-table",
                self.aws.views_table,
                *args,
            ]
        )


def project(stack: Stack, stream: StreamId) -> None:
    """What the live projection does for a record of the stream."""
    stack.views.put(stream.tenant_id, fold(stack.events.read(stream)))


@pytest.fixture
def stack() -> Iterator[Stack]:
    with template_aws() as aws:
        stack = Stack(
            aws,
            DynamoDBEventStore(aws.events_table, aws.dynamodb),
            StatusViews(aws.views_table, aws.dynamodb),
        )
        tenants = TenantDirectory(aws.views_table, aws.dynamodb)
        for tenant in TENANTS:
            tenants.create(tenant, tenant)
            for n in range(3):
                stream = StreamId(tenant, f"sub-{n}")
                stack.events.append(stream, [received()], 0)
                project(stack, stream)
                if n:  # one received only, one delivered, one failed
                    outcome, code = ("succeeded", 200) if n == 1 else ("final_failure", 400)
                    stack.events.append(stream, [attempted(1, outcome, code)], 1)
                    project(stack, stream)
        stack.events.append(StreamId("acme", LEDGER_STREAM), [received()], 0)
        yield stack


def test_deleted_and_stale_views_are_rebuilt_as_the_live_projection_wrote_them(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    live = stack.status_items()
    assert len(live) == 6
    # Given one view deleted and one put back to an older version (its listing entry too)
    stack.aws.dynamodb.delete_item(
        TableName=stack.aws.views_table,
        Key={"pk": {"S": vk.status_pk("acme", "sub-0")}, "sk": {"S": vk.STATUS_SK}},
    )
    older = fold(stack.events.read(StreamId("rival", "sub-1"))[:1])
    stack.aws.dynamodb.put_item(
        TableName=stack.aws.views_table,
        Item={
            **live[vk.status_pk("rival", "sub-1")],
            "version": {"N": "1"},
            "status": {"S": older["status"]},
            "gsi1pk": {"S": vk.listing_pk("rival", older["status"])},
        },
    )

    # When every view is rebuilt
    assert stack.rebuild("--json") == 0

    # Then the items are the live projection's, and the report counts every submission
    assert stack.status_items() == live
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "tenants": [
            {"tenant_id": t, "submissions": 3, "written": 3, "refused": []} for t in TENANTS
        ]
    }


def test_a_rebuild_of_one_tenant_touches_no_other(stack: Stack) -> None:
    for tenant in TENANTS:
        stack.aws.dynamodb.delete_item(
            TableName=stack.aws.views_table,
            Key={"pk": {"S": vk.status_pk(tenant, "sub-2")}, "sk": {"S": vk.STATUS_SK}},
        )

    assert stack.rebuild("--tenant", "rival") == 0

    items = stack.status_items()
    assert vk.status_pk("rival", "sub-2") in items
    assert vk.status_pk("acme", "sub-2") not in items


def test_a_stream_that_does_not_verify_is_named_and_the_rest_rebuilt(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.aws.dynamodb.update_item(
        TableName=stack.aws.events_table,
        Key={
            "pk": {"S": stream_key(StreamId("acme", "sub-1"))},
            "sk": {"S": version_key(1)},
        },
        UpdateExpression="SET correlation_id = :c",
        ExpressionAttributeValues={":c": {"S": "edited"}},
    )

    assert stack.rebuild("--tenant", "acme") == 1

    assert "acme/sub-1" in capsys.readouterr().err


def test_a_bad_tenant_id_is_bad_input(stack: Stack) -> None:
    assert stack.rebuild("--tenant", "Not A Tenant") == 2
