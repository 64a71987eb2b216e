"""The console's static files: served unauthenticated by the public function, only the
files the console has, each with its content type, caching and a strict CSP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from formrelay.api.console import CONSOLE_DIR, CONTENT_SECURITY_POLICY, FILES, INDEX
from formrelay.local.functions import load_handler
from formrelay.registry.schemas import schemas_root
from tests.support.http_events import Context


def _get(route_key: str, path: str, path_parameters: dict[str, str] | None = None) -> Any:
    """The public function's answer to a GET, as API Gateway passes it with no authorizer."""
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "pathParameters": path_parameters or {},
        "requestContext": {
            "http": {"method": "GET", "path": path, "sourceIp": "127.0.0.1"},
            "requestId": "r-1",
            "routeKey": route_key,
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    return load_handler("handlers.api_description.handler")(event, Context())


def test_the_file_table_is_the_consoles_directory() -> None:
    # Every file the console has is served, and the table names no file it lacks
    assert set(FILES) == {path.name for path in CONSOLE_DIR.iterdir() if path.is_file()}


def test_the_page_is_served_with_a_strict_policy() -> None:
    answer = _get("GET /console", "/console/")
    assert answer["statusCode"] == 200
    headers = answer["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert answer["body"] == (CONSOLE_DIR / INDEX).read_text(encoding="utf-8")


def test_the_page_asked_without_its_slash_redirects_to_it() -> None:
    # Given a request for /console, which HTTP API routes to the same route as /console/
    answer = _get("GET /console", "/console")
    # Then it is sent to the page's own address, relative so that a stage prefix stays, for
    # the page's relative module URLs resolve under /console/ only
    assert answer["statusCode"] == 301
    assert answer["headers"]["Location"] == "console/"
    assert "<html" not in answer["body"]


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_file_is_served_with_its_content_type(name: str) -> None:
    answer = _get("GET /console/{file}", f"/console/{name}", {"file": name})
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == FILES[name]
    assert answer["headers"]["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer["body"] == (CONSOLE_DIR / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "%2e%2e",
        "..%2fapi.js",
        "%2e%2e%2f%2e%2e%2fpyproject.toml",
        "APP.JS",
        "app.js%00",
        "app.js.map",
        ".",
        "__init__.py",
        "~",
    ],
)
def test_any_other_name_is_a_404_problem(name: str) -> None:
    answer = _get("GET /console/{file}", f"/console/{name}", {"file": name})
    assert answer["statusCode"] == 404
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"])["title"] == "Not found"


def test_the_page_runs_no_inline_script_and_loads_nothing_from_elsewhere() -> None:
    page = (CONSOLE_DIR / INDEX).read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S)
    assert scripts and all(body.strip() == "" for body in scripts)
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    for name in FILES:
        text = (CONSOLE_DIR / name).read_text(encoding="utf-8")
        # The SVG's namespace is a name, not a request
        assert not re.search(
            r"(?:https?:)?//[a-z0-9.-]+\.[a-z]", text.replace("http://www.w3.org/2000/svg", "")
        ), name


def test_the_description_lists_the_files_the_route_serves() -> None:
    document = json.loads((schemas_root() / "api" / "openapi.json").read_text())
    [parameter] = document["paths"]["/console/{file}"]["get"]["parameters"]
    assert sorted(parameter["schema"]["enum"]) == sorted(FILES)
