"""Injected function failures on the real template: the event sources' retries carry the
submission through, once, and the HTTP front answers a failed or timed-out function as
API Gateway does."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.bootstrap import CONTACT_FORM_SCHEMA, seed_tenant
from formrelay.client import Credentials, FormrelayClient
from formrelay.local.dev import LocalStack
from formrelay.local.faults import Fault, UnknownFaultFunctionError, parse_fault
from formrelay.local.sink import Sink


@contextlib.contextmanager
def _stack(*faults: str) -> Iterator[tuple[LocalStack, Sink, FormrelayClient]]:
    """The real template with these faults, delivering acme's contact form to a sink."""
    with Sink() as sink:
        address = sink.url.removeprefix("http://")
        specs = [parse_fault(fault) for fault in faults]
        with LocalStack(allow_destinations=[address], time_scale=0.001, faults=specs) as stack:
            operator = stack.operator_services()
            seeded = seed_tenant(
                operator,
                tenant_id="acme",
                form_id="contact",
                schema=CONTACT_FORM_SCHEMA,
                destination_url=sink.url + "/hooks/acme",
            )
            # The queue hands a failed message back after 1 s instead of 60
            operator.sqs.set_queue_attributes(
                QueueUrl=operator.settings.delivery_queue_url,
                Attributes={"VisibilityTimeout": "1"},
            )
            time.sleep(1.5)  # a receive already waiting (1 s long polls) keeps the old one
            client = FormrelayClient(Credentials(stack.endpoint, seeded.key_id, seeded.secret))
            yield stack, sink, client


def _wait(predicate: Any, describe: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out; last seen: {describe()}")


def test_failed_invocations_end_in_a_gateway_error_then_one_delivery() -> None:
    with _stack(
        "IngestFunction:first=1", "DispatcherFunction:first=3", "ConnectorFunction:first=1"
    ) as (stack, sink, client):
        submission = {"email": "ada@example.com", "name": "Ada"}

        # When the first submit meets the failing ingest function
        refused = client.submit("contact", submission, idempotency_key="ada-1")

        # Then the front answers API Gateway's 500 for a failed function, and tells nothing more
        assert refused.status_code == 500
        assert refused.json() == {"message": "Internal Server Error"}
        assert "Traceback" not in refused.text and "injected" not in refused.text

        # When the client tries again, it is accepted
        accepted = client.submit("contact", submission, idempotency_key="ada-1")
        assert accepted.status_code == 202, accepted.text
        submission_id = accepted.json()["submission_id"]

        # And although the dispatcher fails its first three batches (the stream poller reads
        # them again) and the connector its first job (the queue hands it back), it is
        # delivered, once
        _wait(
            lambda: client.status(submission_id).json()["status"] == "delivered",
            describe=lambda: (client.status(submission_id).json(), stack.faults),
        )
        assert stack.faults["DispatcherFunction"].injected == 3
        assert stack.faults["IngestFunction"].injected == 1
        assert stack.faults["ConnectorFunction"].injected == 1
        hooks = [r for r in sink.received() if r["path"] == "/hooks/acme"]
        assert len(hooks) == 1


def test_a_timed_out_submit_did_its_work_and_its_retry_finds_it() -> None:
    with _stack() as (stack, sink, client):
        ingest = stack.runtime("IngestFunction")
        ingest.inject(Fault(parse_fault("IngestFunction:timeout"), time_scale=0.001))
        submission = {"email": "ada@example.com", "name": "Ada"}

        # When a submit runs past the ingest function's Timeout
        timed_out = client.submit("contact", submission, idempotency_key="ada-2")

        # Then the client gets the gateway's 500, though the submission was taken
        assert timed_out.status_code == 500
        assert timed_out.json() == {"message": "Internal Server Error"}
        ingest.inject(None)
        again = client.submit("contact", submission, idempotency_key="ada-2")
        assert again.status_code == 202, again.text
        submission_id = again.json()["submission_id"]
        _wait(
            lambda: client.status(submission_id).json()["status"] == "delivered",
            describe=lambda: client.status(submission_id).json(),
        )
        events = client.history(submission_id).json()["events"]
        assert [e["type"] for e in events].count("submission.received") == 1
        assert len([r for r in sink.received() if r["path"] == "/hooks/acme"]) == 1


def test_a_fault_on_a_function_the_template_lacks_is_refused_before_anything_starts() -> None:
    stack = LocalStack(faults=[parse_fault("DispatchFunction:first=1")])

    with pytest.raises(UnknownFaultFunctionError, match="DispatcherFunction"):
        stack.start()
    assert stack.aws_endpoint == ""  # nothing was started, so there is nothing to stop
