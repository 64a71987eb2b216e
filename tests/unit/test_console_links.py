"""Console link requests: what a POST /v1/console-links body may say, and the URL's form."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from formrelay.api.http import install_error_handlers, json_response, request_endpoint
from formrelay.auth.console_links import (
    DEFAULT_SCOPES,
    ConsoleLink,
    ConsoleLinkRequest,
    console_url,
    link_ttl,
    parse_request,
    parse_ttl,
)
from formrelay.domain.errors import InvalidConsoleLinkError
from formrelay.domain.strict_json import MalformedJsonError
from tests.support.http_events import Context


def test_an_empty_body_asks_for_the_defaults() -> None:
    assert parse_request(b"") == ConsoleLinkRequest(DEFAULT_SCOPES, 3600)
    assert parse_request(b"{}") == ConsoleLinkRequest(DEFAULT_SCOPES, 3600)
    assert {"read", "audit", "submit"} == DEFAULT_SCOPES


def test_a_body_names_scopes_and_a_ttl() -> None:
    body = json.dumps({"scopes": ["read"], "ttl": "90s"}).encode()
    assert parse_request(body) == ConsoleLinkRequest(frozenset({"read"}), 90)
    assert parse_request(b'{"ttl": "12h"}').ttl_seconds == 12 * 3600
    assert parse_request(b'{"ttl": "60"}').ttl_seconds == 60


@pytest.mark.parametrize(
    "body",
    [
        {"scopes": ["read", "root"]},
        {"scopes": []},
        {"scopes": "read,audit"},
        {"scopes": [1, 2]},
        {"scopes": ["admin"]},  # the console could read nothing with it
        {"scopes": ["submit", "admin"]},
        {"scopes": None},
        {"ttl": "0s"},
        {"ttl": "59s"},
        {"ttl": "13h"},
        {"ttl": "12h1s"},
        {"ttl": "abc"},
        {"ttl": "-5m"},
        {"ttl": 3600},
        {"ttl": "9" * 400},
        {"ttl": "1h", "tenant_id": "umbrella"},
        {"scopes": ["read"], "expires_at": 4102444800},
    ],
    ids=repr,
)
def test_a_bad_body_is_refused(body: object) -> None:
    with pytest.raises(InvalidConsoleLinkError):
        parse_request(json.dumps(body).encode())


@pytest.mark.parametrize("raw", [b"[]", b'"read"', b"7"])
def test_a_body_that_is_no_object_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidConsoleLinkError):
        parse_request(raw)


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"ttl": "1h", "ttl": "2h"}'])
def test_a_body_that_is_no_json_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedJsonError):
        parse_request(raw)


@pytest.mark.parametrize("seconds", [0, 59.9, 43200.5, float("inf"), float("nan"), -60])
def test_a_ttl_out_of_bounds_is_refused(seconds: float) -> None:
    with pytest.raises(InvalidConsoleLinkError):
        link_ttl(seconds)


def test_a_ttl_at_the_bounds_is_taken() -> None:
    assert (link_ttl(60), link_ttl(43200), parse_ttl("12h"), parse_ttl("1m")) == (
        60,
        43200,
        43200,
        60,
    )


def test_the_url_holds_the_key_and_its_secret_in_the_fragment_only() -> None:
    url = console_url(
        "http://127.0.0.1:8787/", "acme.0123456789abcdef", "frsk_a-b_c", {"submit", "read"}
    )

    assert url == (
        "http://127.0.0.1:8787/console/#k=acme.0123456789abcdef&s=frsk_a-b_c&scopes=read,submit"
    )
    before, _, fragment = url.partition("#")
    assert "frsk_" not in before and fragment.startswith("k=")


def test_a_link_answers_its_expiry_in_rfc3339() -> None:
    link = ConsoleLink("u", "acme.0", frozenset({"read", "audit"}), 1_800_000_060)
    assert link.as_dict() == {
        "url": "u",
        "key_id": "acme.0",
        "scopes": ["audit", "read"],
        "expires_at": "2027-01-15T08:01:00Z",
    }


def endpoint_of(domain: str, stage: str = "$default", **headers: str) -> tuple[int, str]:
    """What request_endpoint answers for a request API Gateway gave this domain and stage."""
    app = APIGatewayHttpResolver()
    install_error_handlers(app, Logger(service="test"))

    @app.get("/e")
    def answer() -> Response[str]:
        return json_response(200, {"endpoint": request_endpoint(app)})

    # With a named stage API Gateway's path begins with it (Powertools takes it off).
    path = "/e" if stage == "$default" else f"/{stage}/e"
    event = {
        "version": "2.0",
        "routeKey": "GET /e",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {name.replace("_", "-"): value for name, value in headers.items()},
        "requestContext": {
            "domainName": domain,
            "stage": stage,
            "http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
            "requestId": "r-1",
            "routeKey": "GET /e",
        },
        "isBase64Encoded": False,
    }
    result = app.resolve(event, Context())
    body = json.loads(result["body"])
    return result["statusCode"], body.get("endpoint", body.get("title"))


@pytest.mark.parametrize(
    ("domain", "stage", "headers", "expected"),
    [
        ("abc.execute-api.eu-west-1.amazonaws.com", "$default", {"x_forwarded_proto": "https"},
         "https://abc.execute-api.eu-west-1.amazonaws.com"),
        ("abc.execute-api.eu-west-1.amazonaws.com", "prod", {"x_forwarded_proto": "https"},
         "https://abc.execute-api.eu-west-1.amazonaws.com/prod"),
        ("forms.example.com", "$default", {}, "https://forms.example.com"),
        ("127.0.0.1:8787", "$default", {}, "http://127.0.0.1:8787"),
        ("localhost:8787", "$default", {}, "http://localhost:8787"),
        ("[::1]:8787", "$default", {}, "http://[::1]:8787"),
        ("forms.example.com", "$default", {"x_forwarded_proto": "gopher"},
         "https://forms.example.com"),
    ],
)  # fmt: skip
def test_the_endpoint_is_the_one_the_request_reached(
    domain: str, stage: str, headers: dict[str, str], expected: str
) -> None:
    assert endpoint_of(domain, stage, **headers) == (200, expected)


@pytest.mark.parametrize(
    "domain", ["", "evil.example/path", "a b", "evil.example#frag", "x" * 300, "host:port"]
)
def test_a_host_that_is_no_host_name_is_a_400(domain: str) -> None:
    assert endpoint_of(domain) == (400, "Bad request")


def test_the_url_names_its_scopes_in_reading_order() -> None:
    url = console_url(
        "https://api.example", "acme.0", "frsk_x", {"admin", "submit", "audit", "read"}
    )
    assert url.endswith("#k=acme.0&s=frsk_x&scopes=read,audit,submit,admin")
