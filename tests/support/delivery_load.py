"""Many submissions to several destinations at once through a running local stack: what the
concurrent e2e test and bench/bench_delivery_load.py share."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.e2e.conftest import RunningStack
from tests.support.scripted_receiver import ScriptedReceiver

TERMINAL = {"delivered", "failed", "dead_lettered"}
# The demo form's own destination, delivering to the demo sink.
PRIMARY = "primary"


def add_destinations(
    stack: RunningStack, receiver: ScriptedReceiver, paths: dict[str, str]
) -> dict[str, str]:
    """PUT one destination per (id -> receiver path) on the demo form; their signing secrets."""
    # A load, not a rate-limit check: a fast machine may submit faster than the default
    # 50/s. Set before the first request, so no function caches the default.
    stack.services().tenants.set_limits("demo", 10_000, 10_000)
    secrets = {}
    for destination_id, path in paths.items():
        body = json.dumps({"url": receiver.url + path, "timeout_seconds": 5}).encode()
        answer = stack.client().request(
            "PUT", f"/v1/forms/contact/destinations/{destination_id}", body=body
        )
        assert answer.status_code in (200, 201), answer.text
        secrets[path] = answer.json()["signing_secret"]
    return secrets


def submit_all(stack: RunningStack, count: int, workers: int = 8) -> list[str]:
    """Submit `count` contact forms from `workers` threads; their submission ids."""

    def submit(n: int) -> str:
        answer = stack.client().submit("contact", {"email": f"u{n}@example.com", "name": f"U{n}"})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["submission_id"])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(submit, range(count)))


def ended_view(stack: RunningStack, submission_id: str, destinations: int) -> dict[str, Any] | None:
    """The submission's status view once every one of its deliveries has ended, else None."""
    view: dict[str, Any] = stack.client().status(submission_id).json()
    shown = view.get("destinations", {})
    done = len(shown) == destinations and all(d["state"] in TERMINAL for d in shown.values())
    return view if done else None


def wait_until_ended(
    stack: RunningStack, ids: Iterable[str], destinations: int, timeout: float
) -> dict[str, dict[str, Any]]:
    """Every submission's view once all its deliveries have ended."""
    views = {}
    for submission_id in ids:
        views[submission_id] = stack.wait_for(
            lambda s=submission_id: ended_view(stack, s, destinations),
            timeout=timeout,
            what=f"{submission_id} to end",
        )
    return views


@dataclass
class Endings:
    """How each delivery of each submission ended, on record."""

    successes: dict[str, Counter[str]] = field(default_factory=dict)
    failures: dict[str, Counter[str]] = field(default_factory=dict)

    def per_delivery(self, submission_id: str, destination_id: str) -> int:
        """Successes plus failure records of one delivery: exactly 1 when it ended once."""
        return (
            self.successes[submission_id][destination_id]
            + self.failures[submission_id][destination_id]
        )


def endings(stack: RunningStack, ids: Iterable[str]) -> Endings:
    """Read every submission's history and count its endings per destination."""
    found = Endings()
    for submission_id in ids:
        events = stack.client().history(submission_id).json()["events"]
        found.successes[submission_id] = Counter(
            e["data"]["destination_id"]
            for e in events
            if e["type"] == "delivery.attempted" and e["data"]["outcome"] == "succeeded"
        )
        found.failures[submission_id] = Counter(
            e["data"]["destination_id"]
            for e in events
            if e["type"] in ("delivery.failed", "delivery.dead_lettered")
        )
    return found


def requests_per_delivery(receiver: ScriptedReceiver, path: str) -> Counter[str]:
    """How many requests the receiver got on a path, per webhook-id (per delivery)."""
    return Counter(r["headers"]["webhook-id"] for r in receiver.requests(path))


def unverified(receiver: ScriptedReceiver, secrets: dict[str, str]) -> list[str]:
    """Requests whose Standard Webhooks signature does not verify (their paths)."""
    bad = []
    for path, secret in secrets.items():
        for request in receiver.requests(path):
            try:
                Webhook(secret).verify(request["body"], request["headers"])
            except WebhookVerificationError:
                bad.append(path)
    return bad
