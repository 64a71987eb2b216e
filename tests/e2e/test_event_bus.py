"""A consumer of the event bus gets every domain event of a submission, as stored."""

from __future__ import annotations

import json
from typing import Any

from formrelay.domain.events import RecordedEvent
from formrelay.registry.schemas import check_event_data
from tests.e2e.conftest import RunningStack

CONTACT = {"email": "ada@example.com", "name": "Ada", "message": "Hello"}


def _consumer_queue(stack: RunningStack) -> tuple[Any, str]:
    """An SQS queue that a rule on the stack's bus sends every formrelay event to."""
    endpoint = stack.demo["aws_endpoint"]
    sqs = stack.aws.client("sqs", endpoint_url=endpoint)
    events = stack.aws.client("events", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName="bus-consumer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = stack.demo["event_bus"]
    pattern = json.dumps({"source": ["formrelay"]})
    events.put_rule(Name="bus-consumer", EventBusName=bus, EventPattern=pattern)
    events.put_targets(
        Rule="bus-consumer", EventBusName=bus, Targets=[{"Id": "consumer", "Arn": arn}]
    )
    return sqs, url


def test_every_domain_event_of_a_submission_reaches_a_bus_consumer(stack: RunningStack) -> None:
    # Given a consumer's queue behind a rule on the bus
    sqs, queue = _consumer_queue(stack)

    # When a submission is received and delivered
    answer = stack.client().submit("contact", CONTACT)
    assert answer.status_code == 202, answer.text
    submission_id = answer.json()["submission_id"]
    stack.wait_for(
        lambda: stack.client().status(submission_id).json()["status"] == "delivered",
        what="status delivered",
    )
    stored = stack.client().history(submission_id).json()["events"]

    # Then the consumer receives each of the submission's events, deduplicated by event_id
    seen: dict[str, dict[str, Any]] = {}

    def all_received() -> bool:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        for message in messages.get("Messages", []):
            entry = json.loads(message["Body"])
            if entry["detail"]["submission_id"] == submission_id:
                seen.setdefault(entry["detail"]["event_id"], entry)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return {event["event_id"] for event in stored} <= set(seen)

    stack.wait_for(all_received, what="the submission's events on the bus")
    assert len(stored) >= 2
    assert [seen[event["event_id"]]["detail-type"] for event in stored] == [
        event["type"] for event in stored
    ]
    for event in stored:
        entry = seen[event["event_id"]]
        assert entry["source"] == "formrelay"
        assert entry["detail"] == event  # the envelope as the history shows it, hash and all
        published = RecordedEvent.from_dict(entry["detail"])
        check_event_data(published.type, published.schema_version, published.data)
    assert {entry["detail"]["tenant_id"] for entry in seen.values()} == {stack.demo["tenant_id"]}
