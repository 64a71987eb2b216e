"""200 submissions to 3 destinations, one failing half the time: none lost, none twice delivered."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import RunningStack, running_stack
from tests.support.scripted_receiver import ScriptedReceiver

SUBMISSIONS = 200
TERMINAL = {"delivered", "failed", "dead_lettered"}


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[RunningStack, ScriptedReceiver]]:
    """A stack whose contact form delivers to the demo sink, a steady and a flaky receiver."""
    import tempfile
    from pathlib import Path

    receiver = ScriptedReceiver().start()
    with (
        tempfile.TemporaryDirectory() as state_dir,
        running_stack(
            Path(state_dir), "--time-scale", "0.0001", "--allow-destination", receiver.address
        ) as stack,
    ):
        # A load test, not a rate-limit test: a fast machine may submit faster than the
        # default 50/s. Set before the first request, so no function caches the default.
        stack.services().tenants.set_limits("demo", 10_000, 10_000)
        for destination_id, path in (("steady", "/ok"), ("coin", "/coin-flip")):
            body = json.dumps({"url": receiver.url + path, "timeout_seconds": 5}).encode()
            answer = stack.client().request(
                "PUT", f"/v1/forms/contact/destinations/{destination_id}", body=body
            )
            assert answer.status_code in (200, 201), answer.text
            stack.signing_secrets[path] = answer.json()["signing_secret"]
        yield stack, receiver
    receiver.stop()


def _submit(stack: RunningStack, n: int) -> str:
    answer = stack.client().submit("contact", {"email": f"u{n}@example.com", "name": f"U{n}"})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["submission_id"])


def _ended(stack: RunningStack, submission_id: str) -> dict[str, Any] | None:
    view = stack.client().status(submission_id).json()
    destinations = view["destinations"]
    done = len(destinations) == 3 and all(d["state"] in TERMINAL for d in destinations.values())
    return view if done else None


# 600 deliveries through the single-process local stack take 4-6 minutes on 2 cores.
@pytest.mark.timeout(600)
def test_every_delivery_ends_once_and_none_succeeds_twice(
    loaded: tuple[RunningStack, ScriptedReceiver],
) -> None:
    stack, receiver = loaded
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda n: _submit(stack, n), range(SUBMISSIONS)))
    assert len(set(ids)) == SUBMISSIONS

    # Watching the receivers costs the stack nothing; status checks go through the API
    stack.wait_for(
        lambda: (
            len(receiver.requests("/ok")) >= SUBMISSIONS
            and len(stack.sink_received()) >= SUBMISSIONS
        ),
        timeout=400,
        what="the steady destinations to get every submission",
    )
    for submission_id in ids:
        stack.wait_for(
            lambda s=submission_id: _ended(stack, s), timeout=120, what=f"{submission_id} to end"
        )

    for submission_id in ids:
        events = stack.client().history(submission_id).json()["events"]
        successes = Counter(
            e["data"]["destination_id"]
            for e in events
            if e["type"] == "delivery.attempted" and e["data"]["outcome"] == "succeeded"
        )
        endings = Counter(
            e["data"]["destination_id"]
            for e in events
            if e["type"] in ("delivery.failed", "delivery.dead_lettered")
        )
        for destination_id in ("primary", "steady", "coin"):
            # Exactly one ending per delivery: one success, or one failure record
            assert successes[destination_id] + endings[destination_id] == 1, (
                submission_id,
                destination_id,
            )
        assert successes["primary"] == successes["steady"] == 1

    # The steady receiver saw each submission's delivery id, never more than once
    steady = Counter(r["headers"]["webhook-id"] for r in receiver.requests("/ok"))
    assert len(steady) == SUBMISSIONS
    assert max(steady.values()) == 1
    # and every delivery verifies per Standard Webhooks
    for path in ("/ok", "/coin-flip"):
        for request in receiver.requests(path):
            Webhook(stack.signing_secrets[path]).verify(request["body"], request["headers"])
