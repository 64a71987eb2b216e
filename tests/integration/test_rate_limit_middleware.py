"""Every HTTP route of every function answers 429 once its caller's tenant is over its limit.

Given the tables provisioned from infra/template.yaml on moto and a tenant
whose bucket is empty, each route the template declares is invoked through
its real handler with an API Gateway v2 event carrying the authorizer's
context: none runs, each answers problem+json with a Retry-After header.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.composition import services
from formrelay.local.functions import load_handler
from formrelay.local.template import load_template
from formrelay.tables import keys as vk
from tests.support.http_events import Context, http_event
from tests.support.template_aws import template_aws

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def http_routes() -> list[tuple[str, str, str]]:
    """(handler, method, path) of every HttpApi event the template declares."""
    routes = []
    for resource in RESOURCES.values():
        properties = resource.get("Properties", {})
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                p = event["Properties"]
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


@pytest.mark.parametrize(("handler", "method", "path"), http_routes())
def test_every_route_refuses_a_tenant_over_its_limit(
    tables: Any, handler: str, method: str, path: str
) -> None:
    empty_bucket(tables, "acme")
    body = json.dumps({"email": "ada@example.com"}) if method in ("POST", "PUT") else ""
    answer = load_handler(handler)(route_event(method, path, "acme", body), Context())
    assert answer["statusCode"] == 429, answer
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert answer["headers"]["Retry-After"] == "1000"
    problem = json.loads(answer["body"])
    assert problem["type"].endswith("/rate-limited") and problem["status"] == 429
    assert "retry after 1000 s" in problem["detail"]
    # nothing but the bucket was written
    assert tables.scan(TableName="formrelay-EventsTable", Select="COUNT")["Count"] == 0


def test_a_tenant_within_its_limit_reaches_the_route(tables: Any) -> None:
    empty_bucket(tables, "acme")
    query = load_handler("handlers.query.handler")
    event = route_event("GET", "/v1/submissions/{submission_id}", "globex")
    answer = query(event, Context())
    assert answer["statusCode"] == 404  # the route ran: globex has no such submission
    bucket = tables.get_item(
        TableName="formrelay-ViewsTable",
        Key={"pk": {"S": vk.bucket_pk("globex")}, "sk": {"S": vk.TENANT_BUCKET_SK}},
    )["Item"]
    # one request at the default 50/s: the bucket is full again 1/50 s later
    assert float(bucket["tat"]["N"]) == pytest.approx(time.time() + 0.02, abs=1)
