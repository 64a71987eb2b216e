"""A connector killed after its POST and before its record: one success on record, one webhook-id.

The whole local stack runs in this process on the real template, so the
connector's HTTP client can be given a hook that kills the invocation right
after the destination has answered, as a crashed Lambda would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from formrelay.bootstrap import CONTACT_FORM_SCHEMA, seed_tenant
from formrelay.client import Credentials, FormrelayClient
from formrelay.composition import Services
from formrelay.delivery.pinning import pinned_client
from formrelay.local.dev import LocalStack
from formrelay.local.sink import Sink


class ConnectorKilledError(Exception):
    """Stands for the connector's process dying mid-attempt."""


@pytest.fixture
def stack_and_sink() -> Iterator[tuple[LocalStack, Sink]]:
    with Sink() as sink:
        address = sink.url.removeprefix("http://")
        with LocalStack(allow_destinations=[address], time_scale=0.001) as stack:
            yield stack, sink


def _seed(stack: LocalStack, sink: Sink) -> tuple[Services, FormrelayClient]:
    """The acme tenant delivering its contact form to the sink, and its API client."""
    operator = stack.operator_services()
    seeded = seed_tenant(
        operator,
        tenant_id="acme",
        form_id="contact",
        schema=CONTACT_FORM_SCHEMA,
        destination_url=sink.url + "/hooks/acme",
    )
    return operator, FormrelayClient(Credentials(stack.endpoint, seeded.key_id, seeded.secret))


def _connector_http(stack: LocalStack, hook: Any) -> None:
    """Deliveries (first attempts and retries, in every container) go out through a
    client that calls hook on every response."""

    def install(services: Services) -> None:
        services.connector.http = pinned_client(
            allowed=services.settings.allowed_destinations, event_hooks={"response": [hook]}
        )

    for function in ("ConnectorFunction", "RetryAttemptFunction"):
        stack.runtime(function).configure(install)


def _wait(predicate: Any, describe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out; last seen: {describe()}")


def test_a_crash_after_the_post_ends_in_one_recorded_success(
    stack_and_sink: tuple[LocalStack, Sink],
) -> None:
    stack, sink = stack_and_sink
    operator, client = _seed(stack, sink)
    # The queue hands a message back after 1 s instead of 60, to keep the test short
    operator.sqs.set_queue_attributes(
        QueueUrl=operator.settings.delivery_queue_url, Attributes={"VisibilityTimeout": "1"}
    )
    # A receive already waiting (long polls last 1 s) still uses the old timeout
    time.sleep(1.5)
    # Given a connector whose first delivery dies once the destination has answered
    kills = []

    def die_once(response: httpx.Response) -> None:
        if not kills:
            kills.append(response.request.headers["webhook-id"])
            raise ConnectorKilledError("killed after the POST, before the record")

    _connector_http(stack, die_once)

    # When a submission is delivered
    answer = client.submit("contact", {"email": "ada@example.com", "name": "Ada"})
    submission_id = answer.json()["submission_id"]
    _wait(
        lambda: client.status(submission_id).json()["status"] == "delivered",
        describe=lambda: (client.status(submission_id).json(), sink.received()),
    )

    # Then the receiver got it twice under one webhook-id, so it can deduplicate
    got = [r for r in sink.received() if r["path"] == "/hooks/acme"]
    ids = {{k.lower(): v for k, v in r["headers"].items()}["webhook-id"] for r in got}
    assert len(got) == 2 and ids == set(kills)
    # And the record holds exactly one attempt: the success
    events = client.history(submission_id).json()["events"]
    attempts = [e["data"] for e in events if e["type"] == "delivery.attempted"]
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "succeeded")]


def test_retries_that_keep_crashing_end_dead_lettered_on_record_and_can_be_redelivered(
    stack_and_sink: tuple[LocalStack, Sink],
) -> None:
    stack, sink = stack_and_sink
    _, client = _seed(stack, sink)
    # Given a first attempt that fails retryably, and retry attempts that crash the function
    sent: list[str] = []

    def crash_retries(response: httpx.Response) -> None:
        sent.append(response.request.headers["webhook-id"])
        if len(sent) == 1:
            raise httpx.ConnectError("connection refused", request=response.request)
        if len(sent) <= 5:
            raise ConnectorKilledError("the attempt function crashed")

    _connector_http(stack, crash_retries)

    # When a submission is delivered and every retry crashes (1 + the task's 3 retries)
    answer = client.submit("contact", {"email": "ada@example.com", "name": "Ada"})
    submission_id = answer.json()["submission_id"]
    _wait(
        lambda: client.status(submission_id).json()["status"] == "dead_lettered",
        describe=lambda: client.history(submission_id).json(),
    )

    # Then the delivery ends dead-lettered, on record, saying why
    events = client.history(submission_id).json()["events"]
    dead = [e["data"] for e in events if e["type"] == "delivery.dead_lettered"]
    assert len(dead) == 1
    assert dead[0]["attempts"] == 1
    assert dead[0]["last_error"] == "attempt crashed: ConnectorKilledError"
    # And a redelivery (the function no longer crashing) delivers it
    again = client.request("POST", f"/v1/submissions/{submission_id}/redeliveries", body=b"{}")
    assert again.status_code == 202, again.text
    _wait(
        lambda: client.status(submission_id).json()["status"] == "delivered",
        describe=lambda: client.history(submission_id).json(),
    )
