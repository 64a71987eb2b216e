"""Logs carry tenant, ids and outcomes, never a secret or a form's payload.

One full run on a stack of its own (submissions delivered and failed, a destination with
credentials, history, redelivery, refusals), then every line the stack logged is searched
for every secret and every payload value the run used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from formrelay.auth import scopes
from tests.e2e.conftest import RunningStack, running_stack

PAYLOAD = {
    "email": "grace.hopper.9f3a@example.org",
    "name": "Grace Brewster Murray Hopper",
    "message": "Nanoseconds-7c1e are eleven point eight inches",
}
BEARER = "tok_live_5b0e1c9d2f7a4e3b"
API_KEY = "apikey_8d2c4f6a1b3e5d7c"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunningStack, dict[str, Any]]:
    state: Path = tmp_path_factory.mktemp("log-hygiene")
    with running_stack(state, "--time-scale", "0.0001") as stack:
        secrets = {"demo key secret": stack.demo["secret"]}
        client = stack.client()
        key, secret = stack.services().keys.create("demo", frozenset({scopes.READ}))
        secrets["second key secret"] = secret
        sink = stack.sink_url.rstrip("/")
        for destination_id, auth in (
            ("bearer", {"type": "bearer", "token": BEARER}),
            ("apikey", {"type": "api_key", "header": "X-Api-Key", "value": API_KEY}),
        ):
            saved = client.put_destination(
                "contact", destination_id, {"url": f"{sink}/hooks/{destination_id}", "auth": auth}
            )
            assert saved.status_code in (200, 201), saved.text
            secrets[f"{destination_id} signing secret"] = saved.json()["signing_secret"]
        secrets["bearer token"], secrets["api key"] = BEARER, API_KEY
        secrets["demo webhook secret"] = stack.demo["webhook_secret"]

        accepted = client.submit("contact", PAYLOAD, idempotency_key="log-hygiene-1")
        assert accepted.status_code == 202, accepted.text
        submission_id = accepted.json()["submission_id"]
        stack.wait_for(
            lambda: client.status(submission_id).json()["status"] == "delivered",
            timeout=60,
            what="delivery to three destinations",
        )
        assert client.history(submission_id).status_code == 200
        redelivered = client.request(
            "POST", f"/v1/submissions/{submission_id}/redeliveries", body=b"{}"
        )
        assert redelivered.status_code == 202, redelivered.text
        # Refused requests log too: a schema failure echoing values, a wrong secret.
        refused = client.submit("contact", {"email": PAYLOAD["email"], "message": 7})
        assert refused.status_code == 422
        assert stack.client(key.key_id, "frsk_wrong").status(submission_id).status_code == 403
        assert stack.client(key.key_id, secret).status(submission_id).status_code == 200
        stack.wait_for(
            lambda: len(client.history(submission_id).json()["events"]) >= 8,
            timeout=60,
            what="the redelivery on record",
        )
        yield stack, {"secrets": secrets, "submission_id": submission_id}


def _log(stack: RunningStack) -> str:
    return stack.log_path.read_text(encoding="utf-8", errors="replace")


def test_no_secret_is_logged(run: tuple[RunningStack, dict[str, Any]]) -> None:
    stack, facts = run
    log = _log(stack)
    leaked = [name for name, value in facts["secrets"].items() if value in log]
    assert leaked == []


def test_no_payload_value_is_logged(run: tuple[RunningStack, dict[str, Any]]) -> None:
    stack, _ = run
    log = _log(stack)
    leaked = [field for field, value in PAYLOAD.items() if value in log]
    assert leaked == []
    assert "grace.hopper" not in log


def _records(line: str) -> list[dict[str, Any]]:
    """The JSON records a log line holds: functions running in one process share its
    stdout, and a metrics line printed as two writes (text, then newline) may have another
    function's record land between them, so one line may hold two records."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while line.startswith("{", at):
        record, at = decoder.raw_decode(line, at)
        found.append(record)
    return found


def test_logs_carry_tenant_ids_and_outcomes(run: tuple[RunningStack, dict[str, Any]]) -> None:
    stack, facts = run
    records = [record for line in _log(stack).splitlines() for record in _records(line)]
    about_it = [r for r in records if r.get("submission_id") == facts["submission_id"]]
    assert about_it, "the submission's id is in the logs"
    assert all(r.get("tenant_id") == "demo" for r in about_it)
    messages = {r.get("message") for r in about_it}
    assert "submission accepted" in messages
    assert any(r.get("correlation_id") for r in about_it)
