"""The status-view projection as Lambda runs it: a batch of stream records in, each
submission's view written once per batch, at its stream's head."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.composition import services
from formrelay.domain.events import StreamId
from formrelay.tables import keys as vk
from tests.support.events import received
from tests.support.http_events import Context
from tests.support.publishing import attempted, stream_record
from tests.support.template_aws import TemplateAws, template_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[TemplateAws]:
    """Given the template's tables, named in the status view's environment."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    with template_aws() as aws:
        monkeypatch.setenv("EVENTS_TABLE", aws.events_table)
        monkeypatch.setenv("VIEWS_TABLE", aws.views_table)
        services.cache_clear()
        yield aws
        services.cache_clear()


def _calls(client: Any) -> Counter[str]:
    """Every DynamoDB operation the client makes from now on, counted."""
    counted: Counter[str] = Counter()
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: counted.update([model.name])
    )
    return counted


def _view(aws: TemplateAws, tenant_id: str, submission_id: str) -> dict[str, Any]:
    item = aws.dynamodb.get_item(
        TableName=aws.views_table,
        Key={"pk": {"S": vk.status_pk(tenant_id, submission_id)}, "sk": {"S": vk.STATUS_SK}},
    )["Item"]
    return dict(json.loads(item["view"]["S"]))


def test_a_submissions_records_in_one_batch_are_projected_with_one_read_and_one_write(
    aws: TemplateAws,
) -> None:
    from projections.status_view import handler

    # Given two tenants' submissions, one with three events and one with one, on record
    store = services().events
    mine = store.append(
        StreamId("acme", "sub-1"),
        [received("2024-05-01T12:00:00.000000Z"), attempted(1), attempted(2)],
        0,
    )
    theirs = store.append(StreamId("globex", "sub-1"), [received("2024-05-01T12:00:01Z")], 0)
    records = [stream_record(e, 100 + n) for n, e in enumerate([*mine, *theirs])]
    calls = _calls(services().dynamodb)

    # When their four records arrive in one batch
    answer = handler({"Records": records}, Context(function_name="formrelay-StatusViewFunction"))

    # Then each submission's stream was read once and its view written once, at its head,
    # and the destination's health read and written once for both its attempts
    assert answer == {"batchItemFailures": []}
    assert calls == Counter({"Query": 2, "PutItem": 3, "GetItem": 1})
    assert _view(aws, "acme", "sub-1")["version"] == 3
    assert _view(aws, "acme", "sub-1")["status"] == "delivered"
    assert _view(aws, "globex", "sub-1")["status"] == "received"
    health = services().destination_health.for_form("acme", "contact")
    assert [e["event_id"] for e in health["crm"].recent] == [e.event_id for e in mine[1:]]
    assert services().destination_health.for_form("globex", "contact") == {}

    # And the same batch again (a retried invocation) writes the views as they were, and
    # the destination's health, which it would not change, not at all
    calls.clear()
    again = handler({"Records": records}, Context(function_name="formrelay-StatusViewFunction"))
    assert again == {"batchItemFailures": []}
    assert calls == Counter({"Query": 2, "PutItem": 2, "GetItem": 1})
    assert services().destination_health.get("acme", "contact", "crm") == health["crm"]


def test_a_batch_that_repeats_and_reorders_records_leaves_the_view_at_the_head(
    aws: TemplateAws,
) -> None:
    from projections.status_view import handler

    # Given a submission projected once, then attempted
    store = services().events
    stream = StreamId("acme", "sub-1")
    [first] = store.append(stream, [received("2024-05-01T12:00:00.000000Z")], 0)
    assert handler(
        {"Records": [stream_record(first, 100)]},
        Context(function_name="formrelay-StatusViewFunction"),
    ) == {"batchItemFailures": []}
    assert _view(aws, "acme", "sub-1")["status"] == "received"
    [later] = store.append(stream, [attempted(1)], 1)
    calls = _calls(services().dynamodb)

    # When a batch brings the new record before a repeat of the first
    answer = handler(
        {"Records": [stream_record(later, 101), stream_record(first, 100)]},
        Context(function_name="formrelay-StatusViewFunction"),
    )

    # Then the stream is read once and the view shows the attempt (and its destination's
    # health is read and written once)
    assert answer == {"batchItemFailures": []}
    assert calls == Counter({"Query": 1, "PutItem": 2, "GetItem": 1})
    assert _view(aws, "acme", "sub-1")["status"] == "delivered"
