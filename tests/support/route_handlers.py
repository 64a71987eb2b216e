"""The template's HTTP routes, invoked through their real handlers on moto's tables.

`tables` (a fixture: import it into a test module to use it) provisions the
template's tables in-process and points the handlers' services at them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.composition import services
from formrelay.local.template import load_template
from formrelay.tables import keys as vk
from tests.support.http_events import http_event
from tests.support.template_aws import template_aws

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def http_routes() -> list[tuple[str, str, str]]:
    """(handler, method, path) of every signed HttpApi event the template declares: the
    routes a tenant's key calls (a public route, Authorizer NONE, has no caller to bind a
    body to or to rate-limit)."""
    routes = []
    for resource in RESOURCES.values():
        properties = resource.get("Properties", {})
        for event in properties.get("Events", {}).values():
            p = event.get("Properties", {})
            public = p.get("Auth", {}).get("Authorizer") == "NONE"
            if event["Type"] == "HttpApi" and not public:
                routes.append((properties["Handler"], p["Method"], p["Path"]))
    return routes


def route_event(method: str, path: str, tenant_id: str, body: str = "") -> dict[str, Any]:
    """The event of a request to a template route, its path parameters filled in."""
    raw_path = re.sub(r"\{[^}]+\}", "x1", path)
    return http_event(f"{method} {path}", raw_path, tenant_id=tenant_id, body=body.encode())


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with template_aws() as aws:
        for name, value in {
            "EVENTS_TABLE": aws.events_table,
            "VIEWS_TABLE": aws.views_table,
            "DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/delivery",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }.items():
            monkeypatch.setenv(name, value)
        services.cache_clear()  # the container's services, built on first use, on moto
        yield aws.dynamodb
        services.cache_clear()


def empty_bucket(dynamodb: Any, tenant_id: str) -> None:
    """A tenant allowed one request per 1000 s that has just made it."""
    views = "formrelay-ViewsTable"
    dynamodb.put_item(
        TableName=views,
        Item={
            "pk": {"S": vk.tenant_pk(tenant_id)},
            "sk": {"S": vk.TENANT_SK},
            "rate_per_second": {"N": "0.001"},
            "burst": {"N": "1"},
        },
    )
    dynamodb.put_item(
        TableName=views,
        Item={
            "pk": {"S": vk.bucket_pk(tenant_id)},
            "sk": {"S": vk.TENANT_BUCKET_SK},
            "tenant_id": {"S": tenant_id},
            # GCRA's theoretical arrival time a whole burst ahead: not one token left
            "tat": {"N": repr(time.time() + 1000)},
            "expires_at": {"N": str(int(time.time()) + 2000)},
        },
    )
