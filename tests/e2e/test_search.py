"""Search over HTTP on the local stack: a tenant's submissions newest first by form,
status and time, page by page; an edited cursor is refused; an audit-only key reads
but can neither submit nor administer.

Given a tenant of its own with two forms that have no destinations (so each submission
is delivered as soon as it is projected), eight submissions sent one after the other,
and the demo tenant on the same stack.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from formrelay.auth.scopes import AUDIT
from formrelay.bootstrap import create_tenant
from formrelay.client import FormrelayClient
from formrelay.registry.registration import register
from tests.e2e.conftest import RunningStack

TENANT = "searcher"
SENT = [("alpha", n) for n in range(5)] + [("beta", n) for n in range(3)]


@dataclass(frozen=True)
class Searched:
    stack: RunningStack
    client: FormrelayClient  # the tenant's key of every scope
    auditor: FormrelayClient  # the tenant's audit-only key
    sent: list[tuple[str, str]]  # (form, submission id), in the order submitted
    views: list[dict[str, Any]]  # every listed view, newest first


@pytest.fixture(scope="module")
def searched(stack: RunningStack) -> Searched:
    services = stack.services()
    create_tenant(services, TENANT)
    key, secret = services.keys.create(TENANT, frozenset({"submit", "read", "admin"}))
    client = stack.client(key.key_id, secret)
    audit_key, audit_secret = services.keys.create(TENANT, frozenset({AUDIT}))
    for form_id in ("alpha", "beta"):
        register(services.forms, TENANT, form_id, {"type": "object"})
    sent = []
    for form_id, n in SENT:
        answer = client.submit(form_id, {"n": n})
        assert answer.status_code == 202, answer.text
        sent.append((form_id, answer.json()["submission_id"]))

    def all_delivered() -> list[dict[str, Any]] | None:
        answer = client.list_submissions(status="delivered", limit="100")
        assert answer.status_code == 200, answer.text
        views: list[dict[str, Any]] = answer.json()["submissions"]
        return views if len(views) == len(SENT) else None

    views = stack.wait_for(all_delivered, timeout=60, what="every submission delivered")
    return Searched(stack, client, stack.client(audit_key.key_id, audit_secret), sent, views)


def _walk(client: FormrelayClient, **query: str) -> list[list[str]]:
    """The ids on every page of a query, following next_cursor to the end."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        answer = client.list_submissions(**query, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        document = answer.json()
        assert set(document) == {"submissions", "next_cursor"}
        pages.append([view["submission_id"] for view in document["submissions"]])
        cursor = document["next_cursor"]
        if cursor is None:
            return pages


def _newest_first(searched: Searched, form_id: str | None = None) -> list[str]:
    return [s for form, s in reversed(searched.sent) if form_id in (None, form)]


def test_the_listing_is_newest_first_and_status_is_optional(searched: Searched) -> None:
    assert [v["submission_id"] for v in searched.views] == _newest_first(searched)
    assert [p for page in _walk(searched.client) for p in page] == _newest_first(searched)


@pytest.mark.parametrize(
    "query",
    [
        {"form_id": "alpha"},
        {"form_id": "alpha", "status": "delivered"},
        {"status": "delivered"},
        {},
    ],
    ids=["form", "form and status", "status", "no filter"],
)
def test_pages_of_two_cover_every_match_once(searched: Searched, query: dict[str, str]) -> None:
    pages = _walk(searched.client, **query, limit="2")

    assert [s for page in pages for s in page] == _newest_first(searched, query.get("form_id"))
    assert all(len(page) == 2 for page in pages[:-1])


def test_since_is_inclusive_and_until_exclusive(searched: Searched) -> None:
    times = [view["received_at"] for view in reversed(searched.views)]  # oldest first
    # The third and fourth received: since written with an offset, until as listed
    since = times[2].replace("Z", "+00:00")
    until = times[4]

    listed = [s for page in _walk(searched.client, since=since, until=until) for s in page]

    assert listed == [searched.sent[3][1], searched.sent[2][1]]


def test_the_demo_tenant_sees_none_of_it(searched: Searched) -> None:
    ours = {s for _, s in searched.sent}
    demo = searched.stack.client()

    for query in ({}, {"form_id": "alpha"}, {"form_id": "alpha", "status": "delivered"}):
        listed = {s for page in _walk(demo, **query, limit="100") for s in page}
        assert not listed & ours


def test_an_edited_cursor_is_refused(searched: Searched) -> None:
    first = searched.client.list_submissions(form_id="alpha", limit="1").json()
    payload, mac = first["next_cursor"].split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["position"]["after"] = "9999" + document["position"]["after"][4:]
    edited = base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    for query in (
        {"form_id": "alpha", "cursor": f"{edited}.{mac}"},  # edited
        {"form_id": "beta", "cursor": first["next_cursor"]},  # another query's
    ):
        answer = searched.client.list_submissions(**query)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "cursor is not one this API gave out"


def test_an_audit_only_key_reads_but_cannot_submit_or_administer(searched: Searched) -> None:
    auditor = searched.auditor
    _, submission_id = searched.sent[0]

    listed = _walk(auditor, form_id="alpha", limit="3")
    assert [s for page in listed for s in page] == _newest_first(searched, "alpha")
    assert auditor.status(submission_id).status_code == 200
    assert auditor.history(submission_id).status_code == 200

    refused = {
        "submit": auditor.submit("alpha", {"n": 99}),
        "redeliver": auditor.request(
            "POST", f"/v1/submissions/{submission_id}/redeliveries", body=b"{}"
        ),
        "list forms": auditor.list_forms(),
        "put a form": auditor.put_form("alpha", {"type": "object"}),
        "put a destination": auditor.put_destination(
            "alpha", "hook", {"url": "http://127.0.0.1:9/hook"}
        ),
    }
    assert {name: answer.status_code for name, answer in refused.items()} == dict.fromkeys(
        refused, 403
    )
    assert all(answer.json() == {"message": "Forbidden"} for answer in refused.values())
    assert len(_walk(searched.client, form_id="alpha", limit="100")[0]) == 5  # nothing added
