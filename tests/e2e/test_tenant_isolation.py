"""Tenants never see each other: for every route, another tenant's valid key (with every scope)
gets 404 for the first tenant's resources (never their data, never a 403 that confirms they
exist), and a tenant id named in a header, the query or the body never widens access."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from formrelay.api.console import FILES as CONSOLE_FILES
from formrelay.auth.scopes import PUBLIC_ROUTES, ROUTE_SCOPES
from formrelay.client import FormrelayClient
from formrelay.domain.clock import rfc3339
from formrelay.registry.registration import register
from tests.e2e.conftest import RunningStack

FORM = "isolated"  # a form only the first tenant has
REGISTERED = "isolated-registry"  # a form of the first tenant's that the other registers too
OWNER_SCHEMA = {"type": "object", "properties": {"email": {"type": "string"}}}
DESTINATION = "private"
NAMES_THE_TENANT = {"X-Fr-Tenant": "demo", "X-Tenant-Id": "demo"}


@dataclass
class Tenants:
    """The first tenant (demo) with a submission and a destination; the second one's client."""

    stack: RunningStack
    owner: FormrelayClient
    intruder: FormrelayClient
    submission_id: str
    intruder_tenant: str


@pytest.fixture(scope="module")
def tenants(stack: RunningStack) -> Tenants:
    services = stack.services()
    register(services.forms, "demo", FORM, OWNER_SCHEMA)
    owner = stack.client()
    created = owner.put_form(REGISTERED, OWNER_SCHEMA, "FULL")
    assert created.status_code == 201, created.text
    saved = owner.put_destination(
        FORM,
        DESTINATION,
        {
            "url": stack.sink_url.rstrip("/") + "/hooks/private",
            "auth": {"type": "bearer", "token": "owner-only-token"},
        },
    )
    assert saved.status_code in (200, 201), saved.text
    accepted = owner.submit(FORM, {"email": "owner@example.com"})
    assert accepted.status_code == 202, accepted.text
    intruder = stack.seed_second_tenant("rival")
    return Tenants(
        stack,
        owner,
        stack.client(intruder["key_id"], intruder["secret"]),
        accepted.json()["submission_id"],
        intruder["tenant_id"],
    )


def _not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "owner" not in response.text and "demo" not in response.text


def _submit(t: Tenants) -> None:
    before = t.stack.received_submissions()
    response = t.intruder.request(
        "POST",
        f"/v1/forms/{FORM}/submissions",
        body=b'{"email": "intruder@example.com", "tenant_id": "demo"}',
        headers=NAMES_THE_TENANT,
    )
    _not_found(response)
    assert t.stack.received_submissions() == before


def _status(t: Tenants) -> None:
    _not_found(
        t.intruder.request("GET", f"/v1/submissions/{t.submission_id}", headers=NAMES_THE_TENANT)
    )


def _history(t: Tenants) -> None:
    _not_found(
        t.intruder.request(
            "GET", f"/v1/submissions/{t.submission_id}/events", headers=NAMES_THE_TENANT
        )
    )


def _listing(t: Tenants) -> None:
    def ids(client: FormrelayClient, **query: str) -> list[str]:
        answer = client.request("GET", "/v1/submissions", query=query, headers=NAMES_THE_TENANT)
        assert answer.status_code == 200, answer.text
        return [item["submission_id"] for item in answer.json()["submissions"]]

    # The owner's submission shows in the owner's listing once projected, never in the other's.
    t.stack.wait_for(
        lambda: any(
            t.submission_id in ids(t.owner, status=status)
            for status in ("received", "delivering", "delivered")
        ),
        what="the owner's submission in the owner's listing",
    )
    # And by form alone, and by no filter at all (within the second it was received in)
    assert t.submission_id in ids(t.owner, form_id=FORM)
    received = datetime.fromisoformat(t.owner.status(t.submission_id).json()["received_at"])
    second = {"since": rfc3339(received), "until": rfc3339(received + timedelta(seconds=1))}
    assert t.submission_id in ids(t.owner, **second)
    for status in ("received", "delivering", "delivered", "failed", "dead_lettered"):
        assert t.submission_id not in ids(t.intruder, status=status, form_id=FORM)
        assert t.submission_id not in ids(t.intruder, status=status)
    assert t.submission_id not in ids(t.intruder, form_id=FORM)
    assert t.submission_id not in ids(t.intruder)
    # A tenant id in the query is not a listing parameter at all.
    named = t.intruder.request(
        "GET", "/v1/submissions", query={"status": "delivered", "tenant_id": "demo"}
    )
    assert named.status_code == 400
    assert t.submission_id not in named.text


def _redeliver(t: Tenants) -> None:
    _not_found(
        t.intruder.request(
            "POST",
            f"/v1/submissions/{t.submission_id}/redeliveries",
            body=b'{"reason": "tenant_id demo"}',
            headers=NAMES_THE_TENANT,
        )
    )


def _put_destination(t: Tenants) -> None:
    body = {"url": t.stack.sink_url.rstrip("/") + "/hooks/intruder"}
    _not_found(t.intruder.put_destination(FORM, DESTINATION, body))
    mine = t.owner.get_destination(FORM, DESTINATION)
    assert mine.status_code == 200 and mine.json()["url"].endswith("/hooks/private")


def _get_destination(t: Tenants) -> None:
    response = t.intruder.get_destination(FORM, DESTINATION)
    _not_found(response)
    assert "hooks/private" not in response.text


def _list_destinations(t: Tenants) -> None:
    # The owner sees its destination with the health of its deliveries; the other, nothing
    mine = t.owner.list_destinations(FORM)
    assert mine.status_code == 200, mine.text
    assert [d["destination_id"] for d in mine.json()["destinations"]] == [DESTINATION]
    response = t.intruder.request("GET", f"/v1/forms/{FORM}/destinations", headers=NAMES_THE_TENANT)
    _not_found(response)
    assert "hooks/private" not in response.text


def _enable_destination(t: Tenants) -> None:
    # Given the owner's destination disabled by a 410
    destinations = t.stack.services().destinations
    assert destinations.disable("demo", FORM, DESTINATION, "gone (HTTP 410)")
    try:
        # When the other tenant enables it by the same ids, Then it stays disabled
        _not_found(t.intruder.enable_destination(FORM, DESTINATION))
        assert t.owner.get_destination(FORM, DESTINATION).json()["enabled"] is False
        # And the owner enables it
        enabled = t.owner.enable_destination(FORM, DESTINATION)
        assert enabled.status_code == 200 and enabled.json()["re_enabled"] is True
    finally:
        destinations.enable("demo", FORM, DESTINATION)


def _delete_destination(t: Tenants) -> None:
    _not_found(t.intruder.delete_destination(FORM, DESTINATION))
    assert t.owner.get_destination(FORM, DESTINATION).status_code == 200


def _list_forms(t: Tenants) -> None:
    mine = t.owner.list_forms()
    assert mine.status_code == 200 and FORM in mine.text
    theirs = t.intruder.request("GET", "/v1/forms", headers=NAMES_THE_TENANT)
    assert theirs.status_code == 200, theirs.text
    assert FORM not in [form["form_id"] for form in theirs.json()["forms"]]
    assert "demo" not in theirs.text


def _put_form(t: Tenants) -> None:
    # The other tenant's PUT of the same id registers a form of its own: version 1, its mode
    answer = t.intruder.put_form(REGISTERED, {"type": "object"})
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"form_id": REGISTERED, "version": 1, "compatibility": "BACKWARD"}
    mine = t.owner.get_form(REGISTERED).json()
    assert (mine["version"], mine["compatibility"], mine["schema"]) == (1, "FULL", OWNER_SCHEMA)


def _get_form(t: Tenants) -> None:
    response = t.intruder.request("GET", f"/v1/forms/{FORM}", headers=NAMES_THE_TENANT)
    _not_found(response)
    assert "email" not in response.text


def _get_form_version(t: Tenants) -> None:
    response = t.intruder.get_form_version(FORM, 1)
    _not_found(response)
    assert "email" not in response.text


COMPARED = "isolated-versions"  # a form of two versions: v2 requires the email v1 did not


def _compatibility(t: Tenants) -> None:
    # Given the owner's form whose v2 is not BACKWARD compatible (registered under NONE),
    # and the other tenant's form of the same id, whose v2 is
    services = t.stack.services()
    required = {**OWNER_SCHEMA, "required": ["email"]}
    for schema in (OWNER_SCHEMA, required):
        register(services.forms, "demo", COMPARED, schema, "NONE")
    for schema in ({"type": "object", "required": ["topic"]}, {"type": "object"}):
        register(services.forms, t.intruder_tenant, COMPARED, schema)
    query = {"from": "1", "to": "2", "mode": "BACKWARD"}
    mine = t.owner.request("GET", f"/v1/forms/{COMPARED}/compatibility", query=query)
    assert mine.status_code == 200 and mine.json()["compatible"] is False, mine.text
    # Then the other tenant's key compares its own form, never the owner's
    theirs = t.intruder.request(
        "GET", f"/v1/forms/{COMPARED}/compatibility", query=query, headers=NAMES_THE_TENANT
    )
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["compatible"] is True and "email" not in theirs.text
    # And gets 404 for a form only the owner has, tenant named in headers or the query
    response = t.intruder.request(
        "GET", f"/v1/forms/{FORM}/compatibility", query=query, headers=NAMES_THE_TENANT
    )
    _not_found(response)
    named = t.intruder.request(
        "GET", f"/v1/forms/{COMPARED}/compatibility", query={**query, "tenant_id": "demo"}
    )
    assert named.status_code == 400 and "email" not in named.text


def _export(t: Tenants) -> None:
    def exported(client: FormrelayClient, **query: str) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        sent = {"since": "2000-01-01T00:00:00Z", **query}
        while True:
            answer = client.request("GET", "/v1/audit/events", query=sent, headers=NAMES_THE_TENANT)
            assert answer.status_code == 200, answer.text
            lines += [json.loads(line) for line in answer.text.splitlines()]
            if "x-fr-next-cursor" not in answer.headers:
                return lines
            sent["cursor"] = answer.headers["x-fr-next-cursor"]

    # The owner's export holds the owner's submission; the other tenant's never does.
    t.stack.wait_for(
        lambda: (
            any(e["submission_id"] == t.submission_id for e in exported(t.owner))
            and len(exported(t.owner)) > 1
        ),
        what="the owner's submission in the owner's export",
    )
    mine = t.intruder.submit("contact", {"topic": "mine"})
    assert mine.status_code == 202, mine.text
    theirs = t.stack.wait_for(
        lambda: exported(t.intruder, limit="3"), what="the other tenant's own export"
    )
    assert theirs and {e["tenant_id"] for e in theirs} == {t.intruder_tenant}
    assert t.submission_id not in json.dumps(theirs)
    # A tenant id in the query is not an export parameter at all.
    named = t.intruder.request(
        "GET", "/v1/audit/events", query={"since": "2000-01-01T00:00:00Z", "tenant_id": "demo"}
    )
    assert named.status_code == 400
    assert t.submission_id not in named.text
    # Nor does the owner's cursor open anything for the other tenant.
    first = t.owner.audit_events("2000-01-01T00:00:00Z", limit=1)
    cursor = first.headers["x-fr-next-cursor"]
    stolen = t.intruder.audit_events("2000-01-01T00:00:00Z", limit=1, cursor=cursor)
    assert stolen.status_code == 400 and t.submission_id not in stolen.text


def _verified(client: FormrelayClient, **headers: str) -> list[dict[str, Any]]:
    """Every finding of a tenant's verification, page after page (three streams a page)."""
    findings: list[dict[str, Any]] = []
    query = {"limit": "3"}
    while True:
        answer = client.request("GET", "/v1/audit/verify", query=query, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        findings += page["findings"]
        if page["next_cursor"] is None:
            return findings
        query["cursor"] = page["next_cursor"]


def _tampered(t: Tenants, tenant_id: str, submission_id: str) -> Callable[[], None]:
    """The stream's first event edited in the table; what puts it back."""
    dynamodb, table = t.stack.dynamodb(), t.stack.table("EventsTable")
    key = {"pk": {"S": f"T#{tenant_id}#S#{submission_id}"}, "sk": {"S": "V#0000000001"}}
    original = dynamodb.get_item(TableName=table, Key=key)["Item"]["data"]

    def put(value: dict[str, str]) -> None:
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #d = :d",
            ExpressionAttributeNames={"#d": "data"},
            ExpressionAttributeValues={":d": value},
        )

    data = json.loads(original["S"])
    data["payload"]["forged"] = True
    put({"S": json.dumps(data, separators=(",", ":"))})
    return lambda: put(original)


def _verify_tenant(t: Tenants) -> None:
    # Given a stream of each tenant, once both are in their tenant's verification
    mine = t.owner.submit(FORM, {"email": "verify-owner@example.com"}).json()["submission_id"]
    theirs = t.intruder.submit("contact", {"topic": "verify"}).json()["submission_id"]
    t.stack.wait_for(
        lambda: (
            t.owner.status(mine).status_code == 200 and t.intruder.status(theirs).status_code == 200
        ),
        what="both submissions recorded",
    )
    assert _verified(t.owner) == [] and _verified(t.intruder) == []
    # When the other tenant's stream is edited, only its own verdict names it (tenant ids in
    # headers or not); and the same the other way round
    for tenant_id, submission_id, own, other in (
        (t.intruder_tenant, theirs, t.intruder, t.owner),
        ("demo", mine, t.owner, t.intruder),
    ):
        restore = _tampered(t, tenant_id, submission_id)
        try:
            assert [f["id"] for f in _verified(own)] == [submission_id]
            for headers in ({}, NAMES_THE_TENANT):
                assert _verified(other, **headers) == []
        finally:
            restore()
    # And one tenant's cursor opens nothing of the other's walk
    first = t.owner.audit_verify(limit=1)
    assert first.status_code == 200 and first.json()["next_cursor"], first.text
    stolen = t.intruder.audit_verify(limit=1, cursor=first.json()["next_cursor"])
    assert stolen.status_code == 400 and mine not in stolen.text


def _console_link(t: Tenants) -> None:
    # A link asked for naming the owner (in headers; a body naming it is refused) is a key
    # of the asker's own tenant: it opens nothing of the owner's.
    named = t.intruder.request(
        "POST", "/v1/console-links", body=b'{"tenant_id": "demo"}', headers=NAMES_THE_TENANT
    )
    assert named.status_code == 400, named.text
    answer = t.intruder.request("POST", "/v1/console-links", headers=NAMES_THE_TENANT)
    assert answer.status_code == 201, answer.text
    link = answer.json()
    assert link["key_id"].startswith(f"{t.intruder_tenant}.")
    fragment = parse_qs(urlsplit(link["url"]).fragment)
    console = t.stack.client(fragment["k"][0], fragment["s"][0])
    _not_found(console.request("GET", f"/v1/submissions/{t.submission_id}"))
    _not_found(console.request("GET", f"/v1/submissions/{t.submission_id}/events"))
    keys = t.stack.services().keys
    assert link["key_id"] in {k.record.key_id for k in keys.list(t.intruder_tenant)}
    assert link["key_id"] not in {k.record.key_id for k in keys.list("demo")}


def _checked(route: str) -> Callable[[Tenants], None]:
    """verify and proof: the owner's record checks out for the owner, is 404 for the other
    tenant (tenant named in headers or not), whose own submission checks out for it."""

    def case(t: Tenants) -> None:
        mine = t.owner.request("GET", f"/v1/submissions/{t.submission_id}/{route}")
        assert mine.status_code == 200 and mine.json()["verified"] is True, mine.text
        response = t.intruder.request(
            "GET", f"/v1/submissions/{t.submission_id}/{route}", headers=NAMES_THE_TENANT
        )
        _not_found(response)
        assert t.submission_id not in response.text
        own = t.intruder.submit("contact", {"topic": "mine"})
        assert own.status_code == 202, own.text
        theirs = t.intruder.request("GET", f"/v1/submissions/{own.json()['submission_id']}/{route}")
        assert theirs.status_code == 200 and theirs.json()["verified"] is True, theirs.text

    return case


CASES: dict[str, Callable[[Tenants], None]] = {
    "POST /v1/forms/{form_id}/submissions": _submit,
    "GET /v1/submissions": _listing,
    "GET /v1/submissions/{submission_id}": _status,
    "GET /v1/submissions/{submission_id}/events": _history,
    "POST /v1/submissions/{submission_id}/redeliveries": _redeliver,
    "PUT /v1/forms/{form_id}/destinations/{destination_id}": _put_destination,
    "GET /v1/forms/{form_id}/destinations/{destination_id}": _get_destination,
    "DELETE /v1/forms/{form_id}/destinations/{destination_id}": _delete_destination,
    "GET /v1/forms/{form_id}/destinations": _list_destinations,
    "POST /v1/forms/{form_id}/destinations/{destination_id}/enable": _enable_destination,
    "GET /v1/forms": _list_forms,
    "PUT /v1/forms/{form_id}": _put_form,
    "GET /v1/forms/{form_id}": _get_form,
    "GET /v1/forms/{form_id}/versions/{version}": _get_form_version,
    "GET /v1/forms/{form_id}/compatibility": _compatibility,
    "GET /v1/audit/events": _export,
    "GET /v1/audit/verify": _verify_tenant,
    "GET /v1/submissions/{submission_id}/verify": _checked("verify"),
    "GET /v1/submissions/{submission_id}/proof": _checked("proof"),
    "POST /v1/console-links": _console_link,
}


def test_every_route_has_an_isolation_case() -> None:
    assert set(CASES) == set(ROUTE_SCOPES)


def _public_requests() -> list[tuple[str, str]]:
    """Each public route as (method, path): the console's files route once per file."""
    requests = []
    for route in sorted(PUBLIC_ROUTES):
        method, path = route.split(" ", 1)
        if "{file}" in path:
            requests += [(method, path.replace("{file}", name)) for name in sorted(CONSOLE_FILES)]
        elif path == "/console":
            requests.append((method, "/console/"))  # the page, where console links point
        else:
            requests.append((method, path))
    return requests


@pytest.mark.parametrize(("method", "path"), _public_requests())
def test_a_public_route_answers_unsigned_and_names_no_tenant(
    tenants: Tenants, method: str, path: str
) -> None:
    # Given the public route (no isolation case: it serves the same static document to all)
    # When it is asked without a signature, and with each tenant's signature
    unsigned = httpx.request(method, tenants.stack.endpoint + path, timeout=30)
    signed = [client.request(method, path) for client in (tenants.owner, tenants.intruder)]
    # Then it answers the same document to everyone
    assert unsigned.status_code == 200, unsigned.text
    assert [answer.content for answer in signed] == [unsigned.content] * 2
    # And nothing in it is a tenant's: no tenant id, key, form, destination or submission
    text = unsigned.text
    for secret_or_name in (
        "demo",
        tenants.intruder_tenant,
        tenants.stack.demo["key_id"],
        tenants.stack.demo["secret"],
        FORM,
        REGISTERED,
        DESTINATION,
        tenants.submission_id,
        "owner-only-token",
    ):
        assert secret_or_name not in text, secret_or_name


@pytest.mark.parametrize("route", sorted(CASES))
def test_another_tenant_gets_404_on_every_route(tenants: Tenants, route: str) -> None:
    CASES[route](tenants)


def test_the_same_idempotency_key_in_two_tenants_makes_two_submissions(tenants: Tenants) -> None:
    key = "shared-key-across-tenants"
    owner = tenants.owner.submit(FORM, {"email": "owner@example.com"}, idempotency_key=key)
    intruder = tenants.intruder.submit("contact", {"topic": "mine"}, idempotency_key=key)

    assert owner.status_code == intruder.status_code == 202
    assert owner.json()["submission_id"] == intruder.json()["submission_id"] == key
    mine: Any = tenants.owner.history(key).json()
    theirs: Any = tenants.intruder.history(key).json()
    assert mine["events"][0]["data"]["payload"] == {"email": "owner@example.com"}
    assert theirs["events"][0]["data"]["payload"] == {"topic": "mine"}


def test_a_tenant_id_in_the_body_is_only_data(tenants: Tenants) -> None:
    accepted = tenants.intruder.submit("contact", {"topic": "t", "tenant_id": "demo"})
    assert accepted.status_code == 202
    submission_id = accepted.json()["submission_id"]

    _not_found(tenants.owner.status(submission_id))
    theirs: Any = tenants.intruder.history(submission_id).json()
    assert theirs["events"][0]["tenant_id"] == tenants.intruder_tenant


def test_concurrent_requests_of_two_tenants_never_cross(tenants: Tenants) -> None:
    theirs = tenants.intruder.submit("contact", {"topic": "concurrent"}).json()["submission_id"]
    calls = [(tenants.owner, tenants.submission_id, 200), (tenants.intruder, theirs, 200)]
    calls += [(tenants.owner, theirs, 404), (tenants.intruder, tenants.submission_id, 404)]

    def status(call: tuple[FormrelayClient, str, int]) -> tuple[int, int]:
        client, submission_id, expected = call
        return client.status(submission_id).status_code, expected

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(status, calls * 6))

    assert all(got == expected for got, expected in answers), answers


def _first_cursor(t: Tenants, client: FormrelayClient, query: dict[str, str]) -> str:
    """The next_cursor of a one-item first page, once the listing has a second item."""

    def cursor() -> str | None:
        answer = client.request("GET", "/v1/submissions", query={**query, "limit": "1"})
        assert answer.status_code == 200, answer.text
        found: str | None = answer.json()["next_cursor"]
        return found

    return str(t.stack.wait_for(cursor, what=f"a second page of {query}"))


def test_a_tenants_cursor_turns_no_page_of_another_tenant(tenants: Tenants) -> None:
    # Given each tenant with a form of the same id (no destinations: delivered at once once
    # projected) and two submissions of it
    paged = "paged"
    forms = tenants.stack.services().forms
    for tenant_id, client in (("demo", tenants.owner), (tenants.intruder_tenant, tenants.intruder)):
        register(forms, tenant_id, paged, {"type": "object"})
        for _ in range(2):
            assert client.submit(paged, {"email": "owner@example.com"}).status_code == 202
    query = {"status": "delivered", "form_id": paged}
    owners = _first_cursor(tenants, tenants.owner, query)
    theirs = _first_cursor(tenants, tenants.intruder, query)

    # When each sends the other's cursor with the very same query
    stolen = tenants.intruder.request("GET", "/v1/submissions", query={**query, "cursor": owners})
    planted = tenants.owner.request("GET", "/v1/submissions", query={**query, "cursor": theirs})

    # Then neither turns a page: 400, and nothing of the owner shows
    for answer in (stolen, planted):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "cursor is not one this API gave out"
    assert "owner" not in stolen.text and "demo" not in stolen.text
    # And each tenant's own cursor still works for itself
    mine = tenants.owner.request("GET", "/v1/submissions", query={**query, "cursor": owners})
    assert mine.status_code == 200, mine.text
