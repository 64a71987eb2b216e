"""The delivery queue contract: the in-memory fake and SQS (on moto) behave alike.

Each back end provides the queue and a way to take what was sent (a
consumer: the connector's event source).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import boto3
import pytest

from formrelay.delivery.jobs import DeliveryJob, DeliveryQueue
from formrelay.delivery.memory import InMemoryDeliveryQueue
from formrelay.delivery.sqs import SQSDeliveryQueue
from tests.support.template_aws import TemplateAws, template_aws

Take = Callable[[], list[DeliveryJob]]


def jobs(count: int, tenant_id: str = "acme") -> list[DeliveryJob]:
    return [
        DeliveryJob.for_destination(tenant_id, f"sub-{n:03d}", "contact", "crm", f"corr-{n}")
        for n in range(count)
    ]


class DeliveryQueueContract:
    """The behaviour every DeliveryQueue back end must show."""

    @pytest.fixture
    def queue(self) -> Iterator[DeliveryQueue]:
        raise NotImplementedError

    @pytest.fixture
    def take(self, queue: DeliveryQueue) -> Take:
        raise NotImplementedError

    def test_every_job_sent_arrives_once_and_intact(self, queue: DeliveryQueue, take: Take) -> None:
        # Given 23 jobs (more than one batch of ten), of two tenants
        sent = jobs(20) + jobs(3, tenant_id="globex")

        # When they are sent
        queue.send(sent)

        # Then each arrives exactly once, every field as sent
        assert Counter(take()) == Counter(sent)
        assert take() == []

    def test_sending_no_jobs_sends_nothing(self, queue: DeliveryQueue, take: Take) -> None:
        queue.send([])
        assert take() == []

    def test_the_same_job_sent_twice_arrives_twice(self, queue: DeliveryQueue, take: Take) -> None:
        # The queue is at-least-once; the connector, not the queue, makes delivery once-only
        [job] = jobs(1)
        queue.send([job])
        queue.send([job])
        assert Counter(take()) == Counter({job: 2})


class TestInMemoryDeliveryQueue(DeliveryQueueContract):
    @pytest.fixture
    def queue(self) -> Iterator[DeliveryQueue]:
        yield InMemoryDeliveryQueue()

    @pytest.fixture
    def take(self, queue: DeliveryQueue) -> Take:
        assert isinstance(queue, InMemoryDeliveryQueue)
        return queue.take


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


class TestSQSDeliveryQueue(DeliveryQueueContract):
    @pytest.fixture
    def queue_url(self, aws: TemplateAws) -> str:
        sqs = boto3.client("sqs", region_name="us-east-1")
        return sqs.create_queue(QueueName=f"delivery-{uuid.uuid4().hex[:8]}")["QueueUrl"]

    @pytest.fixture
    def queue(self, queue_url: str) -> Iterator[DeliveryQueue]:
        yield SQSDeliveryQueue(queue_url, boto3.client("sqs", region_name="us-east-1"))

    @pytest.fixture
    def take(self, queue_url: str) -> Take:
        sqs = boto3.client("sqs", region_name="us-east-1")

        def receive_all() -> list[DeliveryJob]:
            taken: list[DeliveryJob] = []
            while True:
                got = sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not got:
                    return taken
                for message in got:
                    taken.append(DeliveryJob.from_json(message["Body"]))
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

        return receive_all
