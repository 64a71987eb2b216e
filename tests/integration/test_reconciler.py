"""The reconciler on moto (the template's tables, queues and stream), delivering over real
HTTP to a scripted receiver through a connector on fakes.

Each case breaks the pipeline the way a failure would (a projection that never ran, a
lost retry execution, a batch parked on a failure queue), runs the reconciler, and
checks the repair, that a second run repairs nothing, and that another tenant's
submissions in the same state are left as they are when only the first is reconciled.
"""

from __future__ import annotations

import dataclasses
import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from formrelay.delivery.connector import Connector
from formrelay.delivery.destination_secrets import DestinationSecrets
from formrelay.delivery.jobs import DeliveryJob
from formrelay.delivery.memory import (
    InMemoryDeliveryLeases,
    InMemoryDeliveryQueue,
    InMemoryDestinationDirectory,
    InMemoryRetryWorkflow,
)
from formrelay.delivery.pinning import pinned_client
from formrelay.domain.clock import ManualClock
from formrelay.domain.destinations import Destination
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    SUBMISSION_RECEIVED,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.local.pollers import on_failure_record
from formrelay.reconciliation.dynamodb import DynamoDBReconcileState, StatusIndex
from formrelay.reconciliation.memory import InMemoryParkedBatches
from formrelay.reconciliation.parked import DISPATCHER, PUBLISHER, STATUS_VIEW, ParkedBatches
from formrelay.reconciliation.reconciler import Reconciler
from formrelay.reconciliation.streams import SQSParkedBatches
from formrelay.secrets.memory import InMemorySecretDocuments
from formrelay.store.dynamodb import DynamoDBEventStore
from formrelay.views.status import StatusViews, fold
from tests.support.scripted_receiver import Answer, ScriptedReceiver
from tests.support.template_aws import TemplateAws, template_aws

TENANTS = ("acme", "globex")


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


@pytest.fixture(scope="module")
def receiver() -> Iterator[ScriptedReceiver]:
    server = ScriptedReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(receiver: ScriptedReceiver) -> Iterator[httpx.Client]:
    with pinned_client(allowed=frozenset({receiver.address})) as client:
        yield client


class World:
    """Two tenants' submissions in the template's tables; the reconciler and the pipeline's
    own steps (the status view, the connector) run by hand on one manual clock."""

    def __init__(self, aws: TemplateAws, receiver: ScriptedReceiver, http: httpx.Client) -> None:
        self.aws, self.receiver = aws, receiver
        self.clock = ManualClock()
        self.events = DynamoDBEventStore(aws.events_table, aws.dynamodb)
        self.views = StatusViews(aws.views_table, aws.dynamodb)
        self.state = DynamoDBReconcileState(aws.views_table, aws.dynamodb)
        self.queue = InMemoryDeliveryQueue()
        self.directory = InMemoryDestinationDirectory()
        self.secrets = DestinationSecrets(
            "formrelay/destinations/",
            documents=InMemorySecretDocuments(clock=self.clock.unix),
            clock=self.clock.unix,
        )
        self.workflow = InMemoryRetryWorkflow()
        self.connector = Connector(
            events=self.events,
            destinations=self.directory,
            secrets=self.secrets,
            leases=InMemoryDeliveryLeases(self.clock),
            workflow=self.workflow,
            http=http,
            allowed_destinations=frozenset({receiver.address}),
            clock=self.clock,
            rng=NoJitter(),
        )
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        # The streams endpoint named: botocore would derive another from the stream ARN,
        # which moto in-process does not answer.
        self.streams = boto3.client(
            "dynamodbstreams",
            region_name="us-east-1",
            endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com",
        )
        self.paths: dict[tuple[str, str], str] = {}

    def queue_url(self, logical_id: str) -> str:
        return str(self.aws.resources[logical_id]["Ref"])

    def reconciler(self, *parked: ParkedBatches) -> Reconciler:
        return Reconciler(
            events=self.events,
            views=self.views,
            index=StatusIndex(self.aws.views_table, self.aws.dynamodb),
            state=self.state,
            queue=self.queue,
            connector=self.connector,
            parked=parked,
            clock=self.clock,
        )

    def destination(self, tenant: str, destination_id: str, answers: list[Answer]) -> None:
        path = f"/{tenant}/{destination_id}/{uuid.uuid4().hex}"
        self.directory.put(
            Destination(
                tenant_id=tenant,
                form_id="contact",
                destination_id=destination_id,
                url=self.receiver.play(path, answers),
                timeout_seconds=2,
                connect_timeout_seconds=2,
                retry_schedule_seconds=(5, 300),
            )
        )
        self.secrets.put(tenant, "contact", destination_id, auth_credentials=None)
        self.paths[(tenant, destination_id)] = path

    def submit(self, tenant: str, *destination_ids: str) -> str:
        """A submission received now; its status view projected (as the live view does)."""
        submission_id = f"sub_{uuid.uuid4().hex[:16]}"
        received = NewEvent(
            type=SUBMISSION_RECEIVED,
            correlation_id="corr-1",
            occurred_at=self.clock.timestamp(),
            data={
                "form_id": "contact",
                "form_schema_version": 1,
                "key_id": f"{tenant}.0123456789abcdef",
                "body_sha256": "0" * 64,
                "payload": {"email": "ada@example.com"},
                "destinations": list(destination_ids),
            },
        )
        self.events.append(StreamId(tenant, submission_id), [received], expected_version=0)
        return submission_id

    def project(self, tenant: str, submission_id: str) -> dict[str, Any]:
        """What the live status view does for each record of the stream."""
        view = fold(self.history(tenant, submission_id))
        self.views.put(tenant, view)
        return view

    def history(self, tenant: str, submission_id: str) -> list[RecordedEvent]:
        return self.events.read(StreamId(tenant, submission_id))

    def view(self, tenant: str, submission_id: str) -> dict[str, Any] | None:
        item = self.aws.dynamodb.get_item(
            TableName=self.aws.views_table,
            Key={"pk": {"S": f"T#{tenant}#S#{submission_id}"}, "sk": {"S": "STATUS"}},
        ).get("Item")
        return json.loads(item["view"]["S"]) if item else None

    def deliver_queued(self) -> None:
        """The connector takes every queued job (its first attempt of the round)."""
        for job in self.queue.take():
            self.connector.first_attempt(job)

    def received_by(self, tenant: str, destination_id: str) -> int:
        return len(self.receiver.requests(self.paths[(tenant, destination_id)]))

    def attempts(self, tenant: str, submission_id: str) -> list[dict[str, Any]]:
        return [e.data for e in self.history(tenant, submission_id) if e.type == DELIVERY_ATTEMPTED]


@pytest.fixture
def world(receiver: ScriptedReceiver, http: httpx.Client) -> Iterator[World]:
    with template_aws() as aws:
        yield World(aws, receiver, http)


def test_a_submission_never_dispatched_is_queued_again_and_delivered_once(world: World) -> None:
    # Given submissions of two tenants whose dispatcher never ran (their views say received)
    for tenant in TENANTS:
        world.destination(tenant, "crm", [Answer(200)])
        world.destination(tenant, "mail", [Answer(200)])
    lost = {tenant: world.submit(tenant, "crm", "mail") for tenant in TENANTS}
    for tenant, submission_id in lost.items():
        world.project(tenant, submission_id)
    world.clock.advance(60)
    recent = world.submit("acme", "crm")
    world.project("acme", recent)

    # When acme is reconciled within the grace period, nothing is done
    assert world.reconciler().run(["acme"], all_tenants=False).repairs == []

    # and once the grace period is over, its lost submission's jobs are queued again
    world.clock.advance(300)
    report = world.reconciler().run(["acme"], all_tenants=False)
    assert report.counts()["undispatched"] == 2 and report.errors == []
    assert {(r.submission_id, r.detail) for r in report.repairs} == {
        (lost["acme"], "crm"),
        (lost["acme"], "mail"),
    }
    jobs = world.queue.take()
    assert sorted(j.destination_id for j in jobs) == ["crm", "mail"]

    # Then the jobs, and a late copy of the dispatcher's own, deliver each destination once
    duplicate = DeliveryJob.for_destination("acme", lost["acme"], "contact", "crm", "corr-1")
    for job in [*jobs, duplicate, *jobs]:
        world.connector.first_attempt(job)
    assert world.received_by("acme", "crm") == 1 and world.received_by("acme", "mail") == 1
    assert [a["outcome"] for a in world.attempts("acme", lost["acme"])] == ["succeeded"] * 2

    # and once the views have caught up (and the recent one was dispatched as usual),
    # a second run repairs nothing
    world.connector.first_attempt(
        DeliveryJob.for_destination("acme", recent, "contact", "crm", "corr-1")
    )
    world.project("acme", lost["acme"])
    world.project("acme", recent)
    world.clock.advance(60)
    assert world.reconciler().run(["acme"], all_tenants=False).repairs == []
    # The other tenant's submission was left as it was: nothing queued, nothing sent
    assert world.received_by("globex", "crm") == 0
    assert world.view("globex", lost["globex"])["status"] == "received"  # type: ignore[index]
    # What was repaired is on record for acme, and nothing for globex
    runs = world.state.runs("acme")
    assert [run["counts"] for run in runs] == [{"undispatched": 2}]
    assert world.state.runs("globex") == []


def test_views_behind_their_stream_or_never_written_are_reprojected(world: World) -> None:
    # Given a submission whose status view was never written, and one left behind
    world.destination("acme", "crm", [Answer(200)])
    world.destination("globex", "crm", [Answer(200)])
    unseen = world.submit("acme", "crm")
    behind = world.submit("acme", "crm")
    world.project("acme", behind)
    world.connector.first_attempt(
        DeliveryJob.for_destination("acme", behind, "contact", "crm", "corr-1")
    )
    other = world.submit("globex", "crm")
    world.clock.advance(400)

    # When acme is reconciled
    report = world.reconciler().run(["acme"], all_tenants=False)

    # Then both views are at their stream's head: delivered, and received
    assert report.counts()["view_behind"] == 2, report.as_dict()
    assert world.view("acme", behind)["status"] == "delivered"  # type: ignore[index]
    assert world.view("acme", unseen)["version"] == 1  # type: ignore[index]
    # The unseen one is now also found undispatched (its dispatcher never ran either)
    assert [r.submission_id for r in report.repairs if r.kind == "undispatched"] == [unseen]
    # and the checkpoint moved on: the next run reads only what happened since
    assert world.state.checkpoint("acme") is not None
    world.deliver_queued()
    world.project("acme", unseen)
    world.clock.advance(60)
    assert world.reconciler().run(["acme"], all_tenants=False).repairs == []
    # The other tenant's view is still unwritten: its reconcile has not run
    assert world.view("globex", other) is None
    assert world.state.checkpoint("globex") is None


def test_a_retry_whose_execution_was_lost_is_attempted_again(world: World) -> None:
    # Given a delivery that failed retryably once, whose retry execution never ran
    world.destination("acme", "crm", [Answer(503), Answer(200)])
    world.destination("globex", "crm", [Answer(503), Answer(200)])
    stuck = {t: world.submit(t, "crm") for t in TENANTS}
    for tenant, submission_id in stuck.items():
        job = DeliveryJob.for_destination(tenant, submission_id, "contact", "crm", "corr-1")
        assert world.connector.first_attempt(job).outcome == "retryable_failure"
        assert world.project(tenant, submission_id)["destinations"]["crm"]["state"] == "retrying"
    world.workflow.executions.clear()  # lost

    # When acme is reconciled before its retry is overdue, nothing happens
    world.clock.advance(600)
    assert world.reconciler().run(["acme"], all_tenants=False).repairs == []

    # and once it is overdue, the attempt is made: delivered, and no new execution needed
    world.clock.advance(400)
    report = world.reconciler().run(["acme"], all_tenants=False)
    assert report.counts()["retry_resumed"] == 1, report.as_dict()
    assert [a["outcome"] for a in world.attempts("acme", stuck["acme"])] == [
        "retryable_failure",
        "succeeded",
    ]
    assert world.received_by("acme", "crm") == 2
    assert world.workflow.executions == []

    # A second run (after the view caught up) repairs nothing; globex is untouched
    world.project("acme", stuck["acme"])
    assert world.reconciler().run(["acme"], all_tenants=False).repairs == []
    assert world.received_by("globex", "crm") == 1


def test_a_resumed_retry_that_fails_again_hands_its_next_wait_to_a_new_execution(
    world: World,
) -> None:
    world.destination("acme", "crm", [Answer(503), Answer(503), Answer(200)])
    submission_id = world.submit("acme", "crm")
    job = DeliveryJob.for_destination("acme", submission_id, "contact", "crm", "corr-1")
    world.connector.first_attempt(job)
    world.project("acme", submission_id)
    world.workflow.executions.clear()
    world.clock.advance(1000)

    report = world.reconciler().run(["acme"], all_tenants=False)

    assert report.counts()["retry_resumed"] == 1
    [execution] = world.workflow.executions
    assert execution.name == f"{job.delivery_id}-r1-a3"
    assert execution.state["attempt"] == 3 and execution.state["next_attempt_at"]


def _parked_on(world: World, logical_id: str, tenant: str, submission_id: str) -> None:
    """Park the stream records of a submission on a failure queue, as Lambda does."""
    table = world.aws.dynamodb.describe_table(TableName=world.aws.events_table)["Table"]
    arn = table["LatestStreamArn"]
    shard = world.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = world.streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = world.streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    mine = [
        r for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == f"T#{tenant}#S#{submission_id}"
    ]
    for record in mine:
        record["dynamodb"]["ApproximateCreationDateTime"] = record["dynamodb"][
            "ApproximateCreationDateTime"
        ].timestamp()
    body = on_failure_record(
        mine,
        shard_id=shard["ShardId"],
        stream_arn=arn,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        condition="RetryAttemptsExhausted",
        invoke_count=11,
        function_error=True,
    )
    world.sqs.send_message(QueueUrl=world.queue_url(logical_id), MessageBody=json.dumps(body))


def _depth(world: World, logical_id: str) -> int:
    attributes = world.sqs.get_queue_attributes(
        QueueUrl=world.queue_url(logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_a_parked_status_view_batch_is_read_back_from_the_stream_and_its_message_deleted(
    world: World,
) -> None:
    # Given a record the status view gave up on, parked on its failure queue
    submission_id = world.submit("acme", "crm")
    _parked_on(world, "StatusViewFailureQueue", "acme", submission_id)
    parked = SQSParkedBatches(
        STATUS_VIEW, world.queue_url("StatusViewFailureQueue"), world.sqs, world.streams
    )

    # When the reconciler runs (still within the grace period of the submission)
    report = world.reconciler(parked).run(["acme", "globex"])

    # Then the view is written and the message is gone; a second run has nothing to do
    assert [(r.kind, r.submission_id, r.detail) for r in report.repairs] == [
        ("parked_record", submission_id, "status_view")
    ]
    assert world.view("acme", submission_id)["status"] == "received"  # type: ignore[index]
    assert _depth(world, "StatusViewFailureQueue") == 0
    assert world.reconciler(parked).run(["acme", "globex"]).repairs == []


def test_a_parked_batch_of_another_tenant_stays_when_one_tenant_is_reconciled(
    world: World,
) -> None:
    submission_id = world.submit("globex", "crm")
    _parked_on(world, "StatusViewFailureQueue", "globex", submission_id)
    parked = SQSParkedBatches(
        STATUS_VIEW, world.queue_url("StatusViewFailureQueue"), world.sqs, world.streams
    )

    report = world.reconciler(parked).run(["acme"], all_tenants=False)

    assert report.repairs == [] and world.view("globex", submission_id) is None
    assert _depth(world, "StatusViewFailureQueue") == 1


def test_a_parked_dispatcher_batch_the_stream_let_go_is_found_in_the_event_store(
    world: World,
) -> None:
    # Given a dispatcher batch parked so long ago that the stream no longer has it
    world.destination("acme", "crm", [Answer(200)])
    submission_id = world.submit("acme", "crm")
    world.project("acme", submission_id)
    parked = InMemoryParkedBatches(DISPATCHER)
    parked.trimmed = True
    at = world.clock.now().timestamp()
    parked.park(
        json.dumps(
            on_failure_record(
                [{"dynamodb": {"SequenceNumber": "7", "ApproximateCreationDateTime": at}}],
                shard_id="shard-1",
                stream_arn="arn:stream",
                function_arn="arn:fn",
                condition="RecordAgeExceeded",
                invoke_count=3,
                function_error=False,
            )
        )
    )

    # When the reconciler runs
    report = world.reconciler(parked).run(["acme", "globex"])

    # Then the submission's job is queued (once), delivered once, and the message deleted
    assert [(r.kind, r.submission_id) for r in report.repairs] == [("parked_record", submission_id)]
    assert parked.messages == {}
    world.deliver_queued()
    assert world.received_by("acme", "crm") == 1
    world.project("acme", submission_id)
    world.clock.advance(600)
    assert world.reconciler(parked).run(["acme", "globex"]).repairs == []


def test_a_parked_publisher_batch_is_published_again_and_kept_while_the_bus_refuses(
    world: World,
) -> None:
    from formrelay.publishing.memory import InMemoryEventPublisher

    # Given a record the publisher gave up on, parked on its failure queue (which hands a
    # message out again at once: no visibility timeout to wait out here)
    world.sqs.set_queue_attributes(
        QueueUrl=world.queue_url("PublisherFailureQueue"), Attributes={"VisibilityTimeout": "0"}
    )
    submission_id = world.submit("acme", "crm")
    _parked_on(world, "PublisherFailureQueue", "acme", submission_id)
    parked = SQSParkedBatches(
        PUBLISHER, world.queue_url("PublisherFailureQueue"), world.sqs, world.streams
    )
    bus = InMemoryEventPublisher()
    [event] = world.history("acme", submission_id)
    bus.refuse(event.event_id)
    reconciler = dataclasses.replace(world.reconciler(parked), publisher=bus)

    # When the bus still refuses it, the message stays and the run says why
    refused = reconciler.run(["acme", "globex"])
    assert refused.repairs == [] and "refused" in refused.errors[0]
    assert _depth(world, "PublisherFailureQueue") == 1

    # and once the bus takes it, it is published and the message deleted
    report = reconciler.run(["acme", "globex"])
    assert [(r.kind, r.detail) for r in report.repairs] == [("parked_record", "publisher")]
    assert [d["detail"]["event_id"] for d in bus.delivered] == [event.event_id]
    assert _depth(world, "PublisherFailureQueue") == 0


class _BrokenIndex(StatusIndex):
    """A status index that fails for one tenant (throttled, say)."""

    def in_status(self, tenant_id: str, status: str, **kwargs: Any) -> Any:
        if tenant_id == "acme":
            raise RuntimeError("throttled")
        return super().in_status(tenant_id, status, **kwargs)


def test_a_job_still_waiting_in_a_backlog_is_queued_again_once_not_every_run(
    world: World,
) -> None:
    world.destination("acme", "crm", [Answer(200)])
    waiting = world.submit("acme", "crm")
    world.project("acme", waiting)
    world.clock.advance(400)
    assert world.reconciler().run(["acme"], all_tenants=False).counts()["undispatched"] == 1

    # When the job is still in the queue's backlog at the next runs, it is not queued again
    for _ in range(3):
        world.clock.advance(300)
        assert world.reconciler().run(["acme"], all_tenants=False).repairs == []
    assert len(world.queue.take()) == 1


def test_one_tenant_failing_does_not_keep_the_others_from_their_repairs(world: World) -> None:
    world.destination("globex", "crm", [Answer(200)])
    lost = world.submit("globex", "crm")
    world.project("globex", lost)
    world.clock.advance(400)
    reconciler = dataclasses.replace(
        world.reconciler(), index=_BrokenIndex(world.aws.views_table, world.aws.dynamodb)
    )

    report = reconciler.run(["acme", "globex"])

    assert report.errors == ["acme: RuntimeError: throttled"]
    assert [(r.tenant_id, r.kind) for r in report.repairs] == [("globex", "undispatched")]
