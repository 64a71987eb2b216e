"""API Gateway HTTP API payload 2.0: authorizer and proxy events, response mapping."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from formrelay.local.emulator import ACCOUNT_ID, REGION
from formrelay.local.routes import Route

_TEXT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/javascript",
    "text/",
)


@dataclass
class HttpRequest:
    """An incoming HTTP request as the front read it off the socket."""

    method: str
    raw_path: str
    raw_query: str
    header_pairs: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    time_epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def headers(self) -> dict[str, str]:
        """Lower-cased header names; repeated headers joined with ',' (cookies excluded)."""
        joined: dict[str, str] = {}
        for name, value in self.header_pairs:
            key = name.lower()
            if key == "cookie":
                continue
            joined[key] = f"{joined[key]},{value}" if key in joined else value
        return joined

    @property
    def cookies(self) -> list[str]:
        """Cookies from every Cookie header, one 'name=value' per entry."""
        found: list[str] = []
        for name, value in self.header_pairs:
            if name.lower() == "cookie":
                found.extend(part.strip() for part in value.split(";") if part.strip())
        return found

    @property
    def query_parameters(self) -> dict[str, str]:
        """Query string parameters; repeated names joined with ','."""
        params: dict[str, str] = {}
        for key, value in parse_qsl(self.raw_query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        return params


@dataclass
class HttpResponse:
    """What the front writes back: status, header pairs and body bytes."""

    status: int
    header_pairs: list[tuple[str, str]]
    body: bytes


def gateway_error(status: int, message: str) -> HttpResponse:
    """An API Gateway generated error, e.g. 401 {"message":"Unauthorized"}."""
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


def missing_identity(request: HttpRequest, route: Route) -> bool:
    """True when an identity source of the route's authorizer is missing or empty."""
    if route.authorizer is None:
        return False
    headers = request.headers
    query = request.query_parameters
    return any(not headers.get(h.lower()) for h in route.authorizer.identity_headers) or any(
        not query.get(q) for q in route.authorizer.identity_query_strings
    )


def _request_context(request: HttpRequest, route: Route) -> dict[str, Any]:
    """The requestContext shared by authorizer and proxy events."""
    domain = request.headers.get("host", "localhost")
    return {
        "accountId": ACCOUNT_ID,
        "apiId": route.api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(request.time_epoch_ms / 1000)),
        "timeEpoch": request.time_epoch_ms,
    }


def _common(request: HttpRequest, route: Route, path_params: dict[str, str]) -> dict[str, Any]:
    """Fields present in both the authorizer and the proxy event."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": request.headers,
    }
    if request.cookies:
        event["cookies"] = request.cookies
    if request.query_parameters:
        event["queryStringParameters"] = request.query_parameters
    event["requestContext"] = _request_context(request, route)
    if path_params:
        event["pathParameters"] = path_params
    return event


def authorizer_event(
    request: HttpRequest, route: Route, path_params: dict[str, str]
) -> dict[str, Any]:
    """The v2 REQUEST authorizer event: identity sources, no body (as API Gateway)."""
    assert route.authorizer is not None
    headers = request.headers
    query = request.query_parameters
    identity = [headers[h.lower()] for h in route.authorizer.identity_headers]
    identity += [query[q] for q in route.authorizer.identity_query_strings]
    route_arn = (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{route.api_id}"
        f"/$default/{request.method}{request.raw_path}"
    )
    event: dict[str, Any] = {"type": "REQUEST", "routeArn": route_arn, "identitySource": identity}
    event.update(_common(request, route, path_params))
    event["stageVariables"] = None
    return event


def is_textual(content_type: str) -> bool:
    """True for content types API Gateway passes as text rather than base64."""
    media = content_type.split(";")[0].strip().lower()
    return media.startswith(_TEXT_TYPES) or media.endswith(("+json", "+xml", "/xml"))


def encode_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """The body as the proxy event carries it: (text, False) or (base64, True)."""
    if is_textual(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def proxy_event(
    request: HttpRequest,
    route: Route,
    path_params: dict[str, str],
    authorizer_context: dict[str, Any] | None,
) -> dict[str, Any]:
    """The v2 proxy event for the route's function."""
    event = _common(request, route, path_params)
    if route.authorizer is not None:
        event["requestContext"]["authorizer"] = {"lambda": authorizer_context or {}}
    if request.body:
        text, is_b64 = encode_body(request.body, request.headers.get("content-type", ""))
        event["body"] = text
        event["isBase64Encoded"] = is_b64
    else:
        event["isBase64Encoded"] = False
    event["stageVariables"] = None
    return event


def _body_bytes(result: dict[str, Any]) -> bytes:
    """Decode a v2 response body (text or base64)."""
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise ValueError("response body must be a string")
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")


def map_response(result: Any) -> HttpResponse:
    """Turn a function's v2 response into HTTP; raises ValueError on a malformed one."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Payload 2.0 infers a 200 JSON response from any other return value.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("Content-Type", "application/json")], text.encode())
    status = result["statusCode"]
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"invalid statusCode {status!r}")
    pairs = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        pairs.extend((str(name), str(v)) for v in values)
    pairs.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    if not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("Content-Type", "application/json"))
    return HttpResponse(status, pairs, _body_bytes(result))


def simple_authorization(result: Any) -> tuple[bool, dict[str, Any]]:
    """Read a simple authorizer response; raises ValueError when it is malformed."""
    if not isinstance(result, dict) or not isinstance(result.get("isAuthorized"), bool):
        raise ValueError(f"malformed simple authorizer response: {result!r}")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise ValueError(f"authorizer context must be an object: {context!r}")
    return result["isAuthorized"], context
