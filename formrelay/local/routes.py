"""HTTP API routes and their Lambda REQUEST authorizers, read from the template."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from formrelay.local.functions import FunctionSpec
from formrelay.local.intrinsics import ResourceMap, resolve
from formrelay.local.template import resources_of_type

IMPLICIT_API_ID = "local-serverlesshttpapi"
_PARAM = re.compile(r"\{([^}/]+?)(\+?)\}")


@dataclass(frozen=True)
class Authorizer:
    """A Lambda REQUEST authorizer (payload 2.0, simple responses)."""

    name: str
    function: FunctionSpec
    identity_headers: tuple[str, ...]
    identity_query_strings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """One route: method + path template -> function, optionally behind an authorizer."""

    method: str
    path: str
    function: FunctionSpec
    authorizer: Authorizer | None
    api_id: str

    @property
    def route_key(self) -> str:
        """API Gateway's route key, e.g. 'POST /v1/forms/{form_id}/submissions'."""
        return f"{self.method} {self.path}"

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """A regex over the raw path with one named group per path parameter."""
        return path_pattern(self.path)

    @property
    def literal_segments(self) -> int:
        """How many segments are literal: more literal means more specific."""
        return sum(1 for part in self.path.split("/") if part and not _PARAM.fullmatch(part))


def path_pattern(path: str) -> re.Pattern[str]:
    """Turn '/a/{b}/{rest+}' into a regex with named groups."""
    out, last = [], 0
    for match in _PARAM.finditer(path):
        out.append(re.escape(path[last : match.start()]))
        name, greedy = match.group(1), match.group(2)
        out.append(f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
        last = match.end()
    out.append(re.escape(path[last:]))
    return re.compile("".join(out))


class RouteTable:
    """Matches a method and raw path to a route the way API Gateway HTTP API does."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: (-r.literal_segments, r.path))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The most specific route for method + path with its path parameters, or None.

        A path with a trailing slash that no route names goes to the route without it,
        as HTTP API routes it (which refuses a route path ending in "/"); the function
        still sees the path as it was asked.
        """
        found = self._match(method, path)
        if found is None and len(path) > 1 and path.endswith("/"):
            found = self._match(method, path.rstrip("/"))
        return found

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in (method, "ANY"):
                continue
            found = route.pattern.fullmatch(path)
            if found:
                return route, dict(found.groupdict())
        return None


def _authorizers(
    template: dict[str, Any], resources: ResourceMap, functions: dict[str, FunctionSpec]
) -> dict[str, Authorizer | None]:
    """Map api id -> its default authorizer (None when it has none)."""
    by_arn = {spec.arn: spec for spec in functions.values()}
    defaults: dict[str, Authorizer | None] = {IMPLICIT_API_ID: None}
    for logical_id, res in resources_of_type(template, "AWS::Serverless::HttpApi").items():
        auth = resolve(res.get("Properties", {}).get("Auth", {}), resources)
        api_id = resources[logical_id]["Ref"]
        name = auth.get("DefaultAuthorizer")
        if not name or name == "NONE":
            defaults[api_id] = None
            continue
        config = auth["Authorizers"][name]
        identity = config.get("Identity", {})
        defaults[api_id] = Authorizer(
            name=name,
            function=by_arn[config["FunctionArn"]],
            identity_headers=tuple(identity.get("Headers", [])),
            identity_query_strings=tuple(identity.get("QueryStrings", [])),
        )
    return defaults


def read_routes(
    template: dict[str, Any], resources: ResourceMap, functions: dict[str, FunctionSpec]
) -> RouteTable:
    """Build the route table from every function's HttpApi events."""
    authorizers = _authorizers(template, resources, functions)
    routes: list[Route] = []
    for spec in functions.values():
        for event in spec.events:
            if event.type != "HttpApi":
                continue
            props = event.properties
            api_id = props.get("ApiId", IMPLICIT_API_ID)
            authorizer = authorizers.get(api_id)
            if props.get("Auth", {}).get("Authorizer") == "NONE":
                authorizer = None
            method = str(props.get("Method", "ANY")).upper()
            routes.append(Route(method, props.get("Path", "/"), spec, authorizer, api_id))
    return RouteTable(routes)
