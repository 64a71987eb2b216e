"""Sending one delivery over HTTP, and turning what happens into an AttemptResult."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from formrelay.delivery.destinations import Destination
from formrelay.delivery.outcomes import RETRYABLE, AttemptResult, outcome_for_status

EXCERPT_LIMIT = 512
USER_AGENT = "formrelay-webhooks/0.1"


def delivery_body(received: dict[str, Any], submission_id: str, received_at: str) -> bytes:
    """The JSON body a destination receives."""
    document = {
        "type": "submission.received",
        "submission_id": submission_id,
        "form_id": received["form_id"],
        "received_at": received_at,
        "data": received["payload"],
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def send(
    client: httpx.Client, destination: Destination, delivery_id: str, body: bytes
) -> AttemptResult:
    """POST body to the destination once; network trouble is a retryable result, not an error."""
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(time.time())),
    }
    started = time.monotonic()
    timeout = httpx.Timeout(
        destination.timeout_seconds, connect=min(destination.timeout_seconds, 5)
    )
    try:
        response = client.post(
            destination.url, content=body, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.TimeoutException as exc:
        return _network_failure(type(exc).__name__, started)
    except httpx.TransportError as exc:
        return _network_failure(type(exc).__name__, started)
    return AttemptResult(
        outcome=outcome_for_status(response.status_code),
        status_code=response.status_code,
        error_class=None if response.is_success else f"http_{response.status_code}",
        response_excerpt=response.text[:EXCERPT_LIMIT] or None,
        duration_ms=_elapsed_ms(started),
    )


def _network_failure(error_class: str, started: float) -> AttemptResult:
    return AttemptResult(
        outcome=RETRYABLE,
        status_code=None,
        error_class=error_class,
        response_excerpt=None,
        duration_ms=_elapsed_ms(started),
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
