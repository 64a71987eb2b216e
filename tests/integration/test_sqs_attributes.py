"""The emulated queues answer the attributes moto computes, reading only what is asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import sqs_backends

from formrelay.local import sqs_attributes


@pytest.fixture
def sqs() -> Iterator[Any]:
    sqs_attributes.install()
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def _queue(name: str) -> Any:
    return sqs_backends["123456789012"]["us-east-1"].queues[name]


def _as_answered(attributes: dict[str, Any]) -> dict[str, str]:
    """As GetQueueAttributes answers them: strings, unset ones left out."""
    return {k: str(v) for k, v in attributes.items() if v is not None}


def _fill(sqs: Any, url: str, **group: str) -> None:
    """Visible, in-flight and delayed messages: every count has something to count."""
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"visible {n}", **group)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)
    if not group:
        sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)


def test_a_standard_queue_with_a_redrive_policy_answers_what_moto_computes(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    url = sqs.create_queue(
        QueueName="jobs",
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": 3}
            ),
        },
    )["QueueUrl"]
    _fill(sqs, url)

    answered = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    assert answered == _as_answered(sqs_attributes.computed_by_moto(_queue("jobs")))
    assert answered["ApproximateNumberOfMessages"] == "3"
    assert answered["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert answered["ApproximateNumberOfMessagesDelayed"] == "1"
    assert json.loads(answered["RedrivePolicy"])["maxReceiveCount"] == 3


def test_one_attribute_asked_is_the_one_answered(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="jobs", Attributes={"MessageRetentionPeriod": "600"})[
        "QueueUrl"
    ]
    _fill(sqs, url)

    answered = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["MessageRetentionPeriod", "ApproximateNumberOfMessages"]
    )["Attributes"]

    assert answered == {"MessageRetentionPeriod": "600", "ApproximateNumberOfMessages": "3"}


def test_a_fifo_queue_still_drops_a_duplicate_by_content(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="jobs.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]

    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    assert [m["Body"] for m in received] == ["same"]
    answered = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert answered == _as_answered(sqs_attributes.computed_by_moto(_queue("jobs.fifo")))
    assert answered["ContentBasedDeduplication"] == "true"


def test_a_message_past_its_retention_is_not_handed_out(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="jobs", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    sqs.send_message(QueueUrl=url, MessageBody="new")
    first = next(m for m in _queue("jobs")._messages if m.body == "old")
    first.sent_timestamp -= 120_000  # sent two minutes ago, retention one minute

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])

    assert "old" not in [m["Body"] for m in received]
