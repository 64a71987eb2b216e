"""API Gateway HTTP API (v2) events as a handler gets them once the authorizer let them in."""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Context:
    """The parts of the Lambda context the handlers' logger reads."""

    function_name: str = "test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def http_event(
    route: str,
    path: str,
    *,
    tenant_id: str = "acme",
    body: bytes = b"",
    query: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event of a request to `route` at `path` (the body's digest signed, unless given)."""
    method = route.split(" ", 1)[0]
    sent = {"x-fr-content-sha256": hashlib.sha256(body).hexdigest()}
    if body:
        sent["content-type"] = "application/json"
    sent.update(headers or {})
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": query,
        "headers": sent,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "authorizer": {
                "lambda": {
                    "tenant_id": tenant_id,
                    "key_id": f"{tenant_id}.0123456789abcdef",
                    "scopes": "admin read submit",  # as Principal.context() joins them
                }
            },
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "test",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route,
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": body.decode("utf-8", errors="surrogateescape"),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    return event
