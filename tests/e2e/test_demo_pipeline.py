"""One submission travels the whole local pipeline, driven over HTTP only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standardwebhooks.webhooks import Webhook

from formrelay.client import verify_history
from tests.e2e.conftest import RunningStack

CONTACT = {"email": "ada@example.com", "name": "Ada", "message": "Hello"}


def _cli(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FORMRELAY_ENDPOINT": stack.endpoint,
        "FORMRELAY_KEY_ID": stack.demo["key_id"],
        "FORMRELAY_SECRET": stack.demo["secret"],
    }
    formrelay = Path(sys.executable).parent / "formrelay"
    return subprocess.run(
        [str(formrelay), *args], env=env, capture_output=True, text=True, timeout=60
    )


def _status(stack: RunningStack, submission_id: str) -> dict[str, Any]:
    response = stack.client().status(submission_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_submission_is_received_delivered_and_on_record(stack: RunningStack) -> None:
    # Given the demo stack, when a client submits the contact form with the CLI
    submitted = _cli(stack, "submit", "--form", "contact", "--data", json.dumps(CONTACT))
    assert submitted.returncode == 0, submitted.stderr
    answer = json.loads(submitted.stdout)
    submission_id = answer["submission_id"]
    assert answer["status"] == "received"
    assert answer["links"]["self"] == f"/v1/submissions/{submission_id}"

    # Then the receiver gets the delivery, with the submission's data
    def delivered_to_sink() -> dict[str, Any] | None:
        for request in stack.sink_received():
            body = json.loads(request["body"])
            if body.get("submission_id") == submission_id:
                return request
        return None

    request = stack.wait_for(delivered_to_sink, what="the delivery at the receiver")
    assert json.loads(request["body"])["data"] == CONTACT
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["webhook-id"].startswith("msg_")
    # signed per Standard Webhooks with the demo destination's secret
    Webhook(stack.demo["webhook_secret"]).verify(request["body"], headers)

    # And the status says delivered
    stack.wait_for(
        lambda: _status(stack, submission_id)["status"] == "delivered", what="status delivered"
    )
    status = _cli(stack, "status", submission_id)
    assert status.returncode == 0, status.stderr
    view = json.loads(status.stdout)
    assert view["destinations"]["primary"]["state"] == "delivered"
    assert view["destinations"]["primary"]["attempts"] == 1

    # And the history lists the received event and the successful attempt, chained
    history = _cli(stack, "history", submission_id)
    assert history.returncode == 0, history.stderr
    assert "hash chain verified locally" in history.stderr
    document = json.loads(history.stdout)
    assert [e["type"] for e in document["events"]] == ["submission.received", "delivery.attempted"]
    attempt = document["events"][1]["data"]
    assert attempt["outcome"] == "succeeded" and attempt["status_code"] == 200
    assert attempt["delivery_id"] == headers["webhook-id"]
    assert document["chain"]["verified"] is True
    verify_history(document)


def test_a_repeated_idempotency_key_returns_the_first_answer(stack: RunningStack) -> None:
    client = stack.client()
    before = stack.received_submissions()

    first = client.submit("contact", CONTACT, idempotency_key="order-42-contact")
    again = client.submit("contact", CONTACT, idempotency_key="order-42-contact")
    other_body = client.submit(
        "contact", {**CONTACT, "name": "Grace"}, idempotency_key="order-42-contact"
    )

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first.json()["submission_id"] == "order-42-contact"
    assert other_body.status_code == 409
    assert other_body.headers["content-type"] == "application/problem+json"
    assert stack.received_submissions() == before + 1


def test_a_second_tenant_cannot_see_the_first_tenants_submission(stack: RunningStack) -> None:
    # Given a submission of the demo tenant
    accepted = stack.client().submit("contact", CONTACT)
    submission_id = accepted.json()["submission_id"]
    # And a second tenant with a valid key of its own
    other = stack.seed_second_tenant()

    # When the second tenant asks for the first tenant's submission, it is not found
    status = stack.client(other["key_id"], other["secret"]).status(submission_id)
    history = stack.client(other["key_id"], other["secret"]).history(submission_id)
    assert status.status_code == history.status_code == 404
    assert submission_id not in status.text + history.text
    # And submitting to the same form id lands in its own form, never the demo tenant's
    own = stack.client(other["key_id"], other["secret"]).submit("contact", {"topic": "x"})
    assert own.status_code == 202
    assert stack.client().status(own.json()["submission_id"]).status_code == 404


def _link_client(stack: RunningStack, url: str) -> Any:
    """The console's view of a link: the key and secret from its fragment, nothing else."""
    fragment = parse_qs(urlsplit(url).fragment)
    return stack.client(fragment["k"][0], fragment["s"][0])


def test_the_demo_prints_a_console_link_for_the_demo_tenant(stack: RunningStack) -> None:
    # Given the demo stack, its state file and its banner name a console link
    url = stack.demo["console_url"]
    assert url.startswith(f"{stack.endpoint}/console/#k=")
    assert f"console           {url}" in stack.log_path.read_text()
    # Then the link's key reads the demo tenant's submissions, and may not make links
    submitted = stack.client().submit("contact", CONTACT).json()["submission_id"]
    link = _link_client(stack, url)
    assert link.status(submitted).status_code == 200
    assert link.request("POST", "/v1/console-links").status_code == 403


def test_the_demo_admin_key_makes_console_links_over_the_api(stack: RunningStack) -> None:
    # Given the demo key (every scope), when it asks for a read-only link for 5 minutes
    body = json.dumps({"scopes": ["read"], "ttl": "5m"}).encode()
    response = stack.client().request("POST", "/v1/console-links", body=body)

    # Then it gets one to this stack's console, whose key reads and cannot submit
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["url"].startswith(f"{stack.endpoint}/console/#k={answer['key_id']}&s=")
    assert answer["scopes"] == ["read"]
    link = _link_client(stack, answer["url"])
    submitted = stack.client().submit("contact", CONTACT).json()["submission_id"]
    assert link.status(submitted).status_code == 200
    assert link.submit("contact", CONTACT).status_code == 403
