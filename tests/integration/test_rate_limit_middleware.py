"""Every HTTP route of every function answers 429 once its caller's tenant is over its limit.

Given the tables provisioned from infra/template.yaml on moto and a tenant
whose bucket is empty, each route the template declares is invoked through
its real handler with an API Gateway v2 event carrying the authorizer's
context: none runs, each answers problem+json with a Retry-After header.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from formrelay.local.functions import load_handler
from formrelay.tables import keys as vk
from tests.support.http_events import Context
from tests.support.route_handlers import empty_bucket, http_routes, route_event, tables

__all__ = ["tables"]  # the fixture


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
