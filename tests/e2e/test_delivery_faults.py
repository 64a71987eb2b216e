"""The fault suite: one submission to nine misbehaving destinations, each ending as it should.

The local stack runs with a compressed clock (--time-scale), so the default
27-hour retry schedule passes in seconds; every request the scripted receiver
gets is checked against the record and verified with `standardwebhooks`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import RunningStack, running_stack
from tests.support.scripted_receiver import ScriptedReceiver

TIME_SCALE = "0.0001"  # 27 hours of retries in about 10 seconds
CONTACT = {"email": "ada@example.com", "name": "Ada"}

# destination id: (receiver path, terminal state, attempts on record)
FAULTS: dict[str, tuple[str, str, int]] = {
    "flaky": ("/flaky", "delivered", 2),
    "down": ("/down", "dead_lettered", 8),
    "hangs": ("/hangs-once", "delivered", 2),
    "resets": ("/resets-once", "delivered", 2),
    "throttled": ("/rate-limited-once", "delivered", 2),
    "odd-retry-after": ("/odd-retry-after-once", "delivered", 2),
    "gone": ("/gone", "failed", 1),
    "slow-body": ("/slow-body", "delivered", 1),
    "redirects": ("/redirects", "failed", 1),
}
TERMINAL = {"delivered", "failed", "dead_lettered"}
# Two halves of about a minute each that `make test` may run at once, each on a stack
# and receiver of its own (conftest.py): the first test counts every request its
# receiver got, so it runs first on whichever stack it shares.
EVERY_FAULT = pytest.mark.xdist_group("delivery-faults-every-fault")
FOLLOW_UPS = pytest.mark.xdist_group("delivery-faults-follow-ups")


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def receiver() -> Iterator[ScriptedReceiver]:
    """The scripted webhook server."""
    server = ScriptedReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def faulty(
    tmp_path_factory: pytest.TempPathFactory, receiver: ScriptedReceiver
) -> Iterator[tuple[RunningStack, dict[str, str]]]:
    """A stack whose contact form delivers to every scripted fault; their signing secrets."""
    state_dir = tmp_path_factory.mktemp("faults")
    allow = ("--allow-destination", receiver.address)
    with running_stack(state_dir, "--time-scale", TIME_SCALE, *allow) as stack:
        secrets = {}
        for destination_id, (path, _, _) in FAULTS.items():
            body: dict[str, Any] = {"url": receiver.url + path, "timeout_seconds": 1}
            answer = put_destination(stack, destination_id, body)
            assert answer.status_code in (200, 201), answer.text
            secrets[destination_id] = answer.json()["signing_secret"]
        yield stack, secrets


def put_destination(stack: RunningStack, destination_id: str, body: dict[str, Any]) -> Any:
    """PUT a destination on the demo form."""
    return stack.client().request(
        "PUT",
        f"/v1/forms/contact/destinations/{destination_id}",
        body=json.dumps(body).encode(),
    )


def _until_ended(stack: RunningStack, submission_id: str, timeout: float = 120) -> dict[str, Any]:
    """Wait until every delivery of a submission has ended; its status view."""
    return dict(
        stack.wait_for(
            lambda: _terminal(stack, submission_id),
            timeout=timeout,
            what=f"every delivery of {submission_id} to end",
            describe=lambda: stack.client().status(submission_id).json(),
        )
    )


def _terminal(stack: RunningStack, submission_id: str) -> dict[str, Any] | None:
    view = stack.client().status(submission_id).json()
    states = {d["state"] for d in view["destinations"].values()}
    return view if states <= TERMINAL else None


def _history(stack: RunningStack, submission_id: str) -> list[dict[str, Any]]:
    return list(stack.client().history(submission_id).json()["events"])


@EVERY_FAULT
def test_every_fault_ends_in_its_terminal_state_with_every_attempt_on_record(
    faulty: tuple[RunningStack, dict[str, str]], receiver: ScriptedReceiver
) -> None:
    stack, secrets = faulty
    # When one submission goes to every destination
    submission_id = stack.client().submit("contact", CONTACT).json()["submission_id"]
    view = _until_ended(stack, submission_id)
    events = _history(stack, submission_id)

    for destination_id, (path, state, attempts) in FAULTS.items():
        # Then each destination ends as scripted, with the attempts counted
        shown = view["destinations"][destination_id]
        assert (shown["state"], shown["attempts"]) == (state, attempts), destination_id
        recorded = [
            e
            for e in events
            if e["type"] == "delivery.attempted" and e["data"]["destination_id"] == destination_id
        ]
        assert [e["data"]["attempt"] for e in recorded] == list(range(1, attempts + 1))
        # And every request the receiver got is an attempt on record, with one webhook-id
        got = receiver.requests(path)
        assert len(got) == attempts, destination_id
        assert {r["headers"]["webhook-id"] for r in got} == {recorded[0]["data"]["delivery_id"]}
        # And each verifies with an independent Standard Webhooks implementation
        for request in got:
            Webhook(secrets[destination_id]).verify(request["body"], request["headers"])

    endings = {(e["type"], e["data"].get("destination_id")) for e in events}
    assert ("delivery.dead_lettered", "down") in endings
    assert ("delivery.failed", "gone") in endings
    assert ("destination.disabled", "gone") in endings
    assert ("delivery.failed", "redirects") in endings
    # A redirect is not followed
    assert receiver.requests("/ok") == []


@FOLLOW_UPS
def test_retry_after_is_honoured_and_errors_are_classified(
    faulty: tuple[RunningStack, dict[str, str]],
) -> None:
    stack, _ = faulty
    submission_id = stack.client().submit("contact", CONTACT).json()["submission_id"]
    _until_ended(stack, submission_id)
    attempts = {
        (e["data"]["destination_id"], e["data"]["attempt"]): e["data"]
        for e in _history(stack, submission_id)
        if e["type"] == "delivery.attempted"
    }
    throttled = next(v for (d, _), v in attempts.items() if d == "throttled")
    assert throttled["status_code"] == 429 and throttled["retry_after_seconds"] == 3600
    # The scheduled wait is the Retry-After's 3600 s (compressed), not the schedule's 5 s
    # (the exact waits for every kind of answer: tests/unit/test_connector.py)
    wait = _at(throttled["next_attempt_at"]) - _at(throttled["started_at"])
    assert wait.total_seconds() >= 3600 * float(TIME_SCALE) - 0.001
    # A Retry-After that is neither seconds nor a date is ignored: retried on the schedule
    odd = attempts[("odd-retry-after", 1)]
    assert odd["status_code"] == 429 and odd["outcome"] == "retryable_failure"
    assert odd["retry_after_seconds"] is None and odd["next_attempt_at"] is not None
    assert attempts[("odd-retry-after", 2)]["outcome"] == "succeeded"
    hangs = next(v for (d, _), v in attempts.items() if d == "hangs")
    assert hangs["error_class"] == "ReadTimeout" and hangs["outcome"] == "retryable_failure"
    resets = next(v for (d, _), v in attempts.items() if d == "resets")
    assert resets["status_code"] is None and resets["outcome"] == "retryable_failure"
    redirect = next(v for (d, _), v in attempts.items() if d == "redirects")
    assert redirect["status_code"] == 302 and redirect["outcome"] == "final_failure"


@FOLLOW_UPS
def test_a_gone_destination_is_disabled_until_put_again(
    faulty: tuple[RunningStack, dict[str, str]], receiver: ScriptedReceiver
) -> None:
    stack, _ = faulty
    first = stack.client().submit("contact", CONTACT).json()["submission_id"]
    _until_ended(stack, first)
    shown = stack.client().request("GET", "/v1/forms/contact/destinations/gone").json()
    assert shown["enabled"] is False
    before = len(receiver.requests("/gone"))

    # While disabled, deliveries to it fail at once without a request
    second = stack.client().submit("contact", CONTACT).json()["submission_id"]
    view = _until_ended(stack, second)
    assert view["destinations"]["gone"]["state"] == "failed"
    assert view["destinations"]["gone"]["attempts"] == 0
    assert len(receiver.requests("/gone")) == before

    # A PUT re-enables it
    again = put_destination(stack, "gone", {"url": receiver.url + "/ok", "timeout_seconds": 1})
    assert again.json()["enabled"] is True


@FOLLOW_UPS
def test_dead_letters_are_redelivered_one_and_in_bulk(
    faulty: tuple[RunningStack, dict[str, str]], receiver: ScriptedReceiver
) -> None:
    stack, _ = faulty
    ids = [stack.client().submit("contact", CONTACT).json()["submission_id"] for _ in range(3)]
    for submission_id in ids:
        _until_ended(stack, submission_id)
    # Given the failing destination now works
    put_destination(stack, "down", {"url": receiver.url + "/ok", "timeout_seconds": 1})

    # When one dead letter is redelivered to that destination
    one = stack.client().request(
        "POST", f"/v1/submissions/{ids[0]}/redeliveries", body=b'{"destination_id": "down"}'
    )
    assert one.status_code == 202, one.text
    view = _until_ended(stack, ids[0], timeout=60)
    assert view["destinations"]["down"]["state"] == "delivered"
    types = [e["type"] for e in _history(stack, ids[0])]
    assert "delivery.redelivery_requested" in types

    # And the rest in bulk with the CLI, once the (eventually consistent) listing shows them
    def listed() -> bool:
        page = stack.client().request(
            "GET", "/v1/submissions", query={"status": "dead_lettered", "form_id": "contact"}
        )
        shown = {item["submission_id"] for item in page.json()["submissions"]}
        return set(ids[1:]) <= shown

    stack.wait_for(listed, timeout=60, what="the listing to show the dead letters")
    from tests.e2e.test_demo_pipeline import _cli

    bulk = _cli(
        stack,
        "redeliver",
        "--form",
        "contact",
        "--status",
        "dead_lettered",
        "--destination",
        "down",
    )
    assert bulk.returncode == 0, bulk.stderr
    summary = json.loads(bulk.stdout)
    assert summary["queued"] >= 2 and summary["refused"] == []
    assert "redelivering [" in bulk.stderr
    for submission_id in ids[1:]:
        view = stack.wait_for(
            lambda s=submission_id: (
                (v := _terminal(stack, s))
                and v["destinations"]["down"]["state"] == "delivered"
                and v
            ),
            timeout=60,
            what="bulk redelivery",
        )
        assert view["destinations"]["down"]["attempts"] == 9
