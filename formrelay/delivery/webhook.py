"""Building and sending one delivery over HTTP, and turning what happens into an AttemptResult."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from formrelay.delivery.outcomes import (
    RETRYABLE,
    AttemptResult,
    outcome_for_status,
    parse_retry_after,
)
from formrelay.delivery.signatures import signature_header
from formrelay.domain.destinations import Destination

EXCERPT_BYTES = 512
USER_AGENT = "formrelay-webhooks/0.1"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BEARER = re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


@dataclass(frozen=True)
class OutgoingRequest:
    """One delivery, ready to send."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def default_body(payload: dict[str, Any], meta: Mapping[str, str]) -> dict[str, Any]:
    """The body a destination receives when it has no mapping."""
    return {
        "type": "submission.received",
        "submission_id": meta["submission_id"],
        "form_id": meta["form_id"],
        "received_at": meta["received_at"],
        "data": payload,
    }


def encode_body(document: dict[str, Any]) -> bytes:
    """A delivery body's bytes."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build_request(
    destination: Destination,
    *,
    delivery_id: str,
    body: bytes,
    signing_secrets: Iterable[str],
    auth: Mapping[str, str],
    timestamp: int,
) -> OutgoingRequest:
    """Headers (static, auth, Standard Webhooks) around a body."""
    headers = dict(destination.headers)
    headers.update(_auth_headers(destination.auth, auth))
    headers.update(
        {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
        }
    )
    signing = list(signing_secrets)
    if signing:
        headers["webhook-signature"] = signature_header(signing, delivery_id, timestamp, body)
    return OutgoingRequest(destination.method, destination.url, headers, body)


def _auth_headers(spec: Mapping[str, str], credentials: Mapping[str, str]) -> dict[str, str]:
    kind = spec.get("type", "none")
    if kind == "api_key" and credentials.get("api_key"):
        return {spec.get("header", "X-Api-Key"): credentials["api_key"]}
    if kind == "bearer" and credentials.get("token"):
        return {"authorization": f"Bearer {credentials['token']}"}
    if kind == "basic" and credentials.get("username") is not None:
        raw = f"{credentials['username']}:{credentials.get('password', '')}".encode()
        return {"authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    return {}


def send(
    client: httpx.Client,
    request: OutgoingRequest,
    *,
    read_timeout: float,
    connect_timeout: float,
    redact: Iterable[str] = (),
) -> AttemptResult:
    """Send once. Network trouble is a retryable result, never an exception.

    The status decides the outcome; at most EXCERPT_BYTES of the body are read,
    and no longer than the read timeout, so a slow or endless body cannot hold
    the connector.
    """
    started = time.monotonic()
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    try:
        with client.stream(
            request.method,
            request.url,
            content=request.body,
            headers=request.headers,
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            excerpt = _read_excerpt(response, started + connect_timeout + read_timeout)
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"))
    except httpx.TransportError as exc:
        return _network_failure(type(exc).__name__, started)
    return AttemptResult(
        outcome=outcome_for_status(status),
        status_code=status,
        error_class=None if 200 <= status < 300 else f"http_{status}",
        response_excerpt=_redacted(excerpt, redact),
        duration_ms=_elapsed_ms(started),
        retry_after_seconds=retry_after if status in (429, 503) else None,
    )


def _read_excerpt(response: httpx.Response, deadline: float) -> bytes:
    excerpt = b""
    try:
        for chunk in response.iter_bytes():
            excerpt += chunk
            if len(excerpt) >= EXCERPT_BYTES or time.monotonic() > deadline:
                break
    except httpx.TransportError:
        pass  # the status has arrived; a body cut short changes nothing
    return excerpt[:EXCERPT_BYTES]


def _redacted(excerpt: bytes, secrets_seen: Iterable[str]) -> str | None:
    if not excerpt:
        return None
    text = _CONTROL.sub("", excerpt.decode("utf-8", errors="replace"))
    for secret in secrets_seen:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _BEARER.sub(r"\1 [redacted]", text)


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
