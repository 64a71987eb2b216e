"""POST /v1/console-links over the local stack: signed HTTP, authorizer, handler, moto.

Given a local stack provisioned from a small template (the real authorizer, console
links, ingest and query handlers, the tables as infra/template.yaml declares them) and
two seeded tenants, acme and umbrella, these tests make links with acme's admin key and
use them as the console would: a key like any other, signed, expiring, revocable.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from formrelay.auth.authorize import AccessDeniedError, AuthorizationRequest, authorize
from formrelay.auth.keys import KeyDirectory
from formrelay.auth.signing import sign_request
from formrelay.bootstrap import seed_tenant
from formrelay.client import Credentials, FormrelayClient
from formrelay.local.dev import LocalStack
from tests.support.signed_api import SIGNED_HTTP_API

PUBLIC_URL = "https://93.184.215.14/hooks/in"  # an address literal: no DNS needed
SCHEMA = {"type": "object", "properties": {"email": {"type": "string"}}}

TEMPLATE = f"""
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 30
    Environment:
      Variables:
        EVENTS_TABLE: !Ref EventsTable
        VIEWS_TABLE: !Ref ViewsTable
        TENANT_SECRET_PREFIX: formrelay/tenants/
        POWERTOOLS_SERVICE_NAME: formrelay
        POWERTOOLS_LOG_LEVEL: WARNING
Resources:
  EventsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {{AttributeName: pk, AttributeType: S}}
        - {{AttributeName: sk, AttributeType: S}}
      KeySchema:
        - {{AttributeName: pk, KeyType: HASH}}
        - {{AttributeName: sk, KeyType: RANGE}}
  ViewsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {{AttributeName: pk, AttributeType: S}}
        - {{AttributeName: sk, AttributeType: S}}
      KeySchema:
        - {{AttributeName: pk, KeyType: HASH}}
        - {{AttributeName: sk, KeyType: RANGE}}
{SIGNED_HTTP_API}  ConsoleLinksFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handlers.console_links.handler
      Events:
        CreateConsoleLink:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: POST
            Path: /v1/console-links
  IngestFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handlers.ingest.handler
      Events:
        Submit:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: POST
            Path: /v1/forms/{{form_id}}/submissions
  QueryFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handlers.query.handler
      Events:
        GetStatus:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: GET
            Path: /v1/submissions/{{submission_id}}
"""


class Stack:
    """The running stack, the seeded tenants and their signed clients."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.services = stack.operator_services()
        self.acme = self._seed("acme")
        self.umbrella = self._seed("umbrella")
        key, secret = self.services.keys.create("acme", frozenset({"admin", "read"}))
        self.acme_admin_reader = self.client(key.key_id, secret)
        key, secret = self.services.keys.create("acme", frozenset({"read", "submit"}))
        self.acme_reader = self.client(key.key_id, secret)

    def _seed(self, tenant_id: str) -> FormrelayClient:
        seeded = seed_tenant(
            self.services,
            tenant_id=tenant_id,
            form_id="contact",
            schema=SCHEMA,
            destination_url=PUBLIC_URL,
        )
        return self.client(seeded.key_id, seeded.secret)

    def client(self, key_id: str, secret: str) -> FormrelayClient:
        return FormrelayClient(Credentials(self.stack.endpoint, key_id, secret))

    @property
    def keys(self) -> KeyDirectory:
        return self.services.keys

    def key_ids(self, tenant_id: str) -> set[str]:
        return {entry.record.key_id for entry in self.keys.list(tenant_id)}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Given a local stack with the console links route and two tenants, acme and umbrella."""
    template = tmp_path_factory.mktemp("infra") / "template.yaml"
    template.write_text(textwrap.dedent(TEMPLATE))
    with LocalStack(template, stack_name="frcl") as stack:
        yield Stack(stack)


def post_link(client: FormrelayClient, body: Any = None, raw: bytes | None = None) -> Any:
    payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return client.request("POST", "/v1/console-links", body=payload)


def link_client(api: Stack, answer: dict[str, Any]) -> FormrelayClient:
    """A client that signs with the link's key, as the console does: from its URL alone."""
    url = urlsplit(answer["url"])
    fragment = parse_qs(url.fragment)
    endpoint = f"{url.scheme}://{url.netloc}{url.path.removesuffix('/console/')}"
    return FormrelayClient(Credentials(endpoint, fragment["k"][0], fragment["s"][0]))


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    return document


# --- making a link ------------------------------------------------------------------


def test_an_admin_key_makes_a_link_to_this_apis_console(api: Stack) -> None:
    before = datetime.now().timestamp()
    response = post_link(api.acme, {})

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"url", "key_id", "scopes", "expires_at"}
    assert body["url"].startswith(f"{api.stack.endpoint}/console/#k={body['key_id']}&s=frsk_")
    assert body["url"].startswith("http://127.0.0.1:")
    assert body["url"].endswith("&scopes=read,audit,submit")
    assert body["scopes"] == ["audit", "read", "submit"]
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp()
    assert before + 3599 <= expires <= before + 3602
    record = api.keys.get("acme", body["key_id"])
    assert record is not None and record.scopes == {"audit", "read", "submit"}
    assert record.expires_at == int(expires)


def test_an_empty_body_makes_the_default_link(api: Stack) -> None:
    response = post_link(api.acme)

    assert response.status_code == 201, response.text
    assert response.json()["scopes"] == ["audit", "read", "submit"]


def test_a_link_names_its_scopes_and_ttl(api: Stack) -> None:
    response = post_link(api.acme, {"scopes": ["read"], "ttl": "90s"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["scopes"] == ["read"]
    assert api.keys.get("acme", body["key_id"]).expires_at is not None  # type: ignore[union-attr]


def test_the_links_key_works_and_acts_for_its_tenant_only(api: Stack) -> None:
    # Given a link made by acme's admin key, and a submission of each tenant
    link = link_client(api, post_link(api.acme, {"scopes": ["read", "submit"]}).json())
    mine = api.acme.submit("contact", {"email": "a@acme.example"}).json()["submission_id"]
    theirs = api.umbrella.submit("contact", {"email": "u@umbrella.example"}).json()
    theirs_id = theirs["submission_id"]

    # Then it reads acme's submission and submits to acme's form
    assert link.status(mine).status_code == 200
    made = link.submit("contact", {"email": "b@acme.example"})
    assert made.status_code == 202, made.text
    assert api.acme.status(made.json()["submission_id"]).status_code == 200
    # And umbrella's submission is as absent to it as one that never was
    assert problem(link.status(theirs_id), 404)["title"] == "Not found"
    assert api.umbrella.status(theirs_id).status_code == 200
    # And its key lists under acme only
    assert link.credentials.key_id in api.key_ids("acme")
    assert link.credentials.key_id not in api.key_ids("umbrella")


def test_a_link_without_admin_cannot_make_links(api: Stack) -> None:
    link = link_client(api, post_link(api.acme, {}).json())

    assert post_link(link, {}).status_code == 403


def test_revoking_the_links_key_ends_it_at_once(api: Stack) -> None:
    answer = post_link(api.acme, {"scopes": ["read"]}).json()
    link = link_client(api, answer)
    mine = api.acme.submit("contact", {"email": "r@acme.example"}).json()["submission_id"]
    assert link.status(mine).status_code == 200

    api.keys.revoke("acme", answer["key_id"])

    assert link.status(mine).status_code == 403


def test_the_authorizer_refuses_the_links_key_from_its_expiry_on(api: Stack) -> None:
    answer = post_link(api.acme, {"scopes": ["read"], "ttl": "60s"}).json()
    expires = int(datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00")).timestamp())
    fragment = parse_qs(urlsplit(answer["url"]).fragment)
    key_id, secret = fragment["k"][0], fragment["s"][0]
    assert fragment["scopes"] == ["read"]

    def at(moment: int) -> str:
        path = "/v1/submissions/any"
        headers = sign_request(
            key_id=key_id, secret=secret, method="GET", path=path, timestamp=moment
        )
        request = AuthorizationRequest(
            "GET /v1/submissions/{submission_id}", "GET", path, "", headers
        )
        return authorize(
            request, keys=api.keys, nonces=api.services.nonces, now=moment, window_seconds=300
        ).tenant_id

    assert at(expires - 1) == "acme"
    with pytest.raises(AccessDeniedError, match="expired"):
        at(expires)


# --- refusals ------------------------------------------------------------------------


def test_a_key_without_admin_is_refused(api: Stack) -> None:
    before = api.key_ids("acme")

    assert post_link(api.acme_reader, {}).status_code == 403
    assert api.key_ids("acme") == before


def test_a_link_may_not_hold_a_scope_its_makers_key_lacks(api: Stack) -> None:
    before = api.key_ids("acme")

    # The admin-and-read key asks for the default (audit and submit too)
    refused = problem(post_link(api.acme_admin_reader, {}), 403)
    assert refused["type"].endswith("scope-exceeded")
    assert "audit" in refused["detail"] and "submit" in refused["detail"]
    assert api.key_ids("acme") == before
    # but may make a link within its own scopes
    allowed = post_link(api.acme_admin_reader, {"scopes": ["read"]})
    assert allowed.status_code == 201, allowed.text


@pytest.mark.parametrize(
    "body",
    [
        {"scopes": ["read", "root"]},
        {"scopes": []},
        {"scopes": "read,audit"},
        {"scopes": [None]},
        {"ttl": "0s"},
        {"ttl": "13h"},
        {"ttl": "abc"},
        {"ttl": 3600},
        {"ttl": "1h", "tenant_id": "umbrella"},
        {"scopes": ["read"], "key_id": "acme.0000000000000000"},
        [],
        "read",
    ],
    ids=repr,
)
def test_a_bad_body_is_a_400_and_writes_no_key(api: Stack, body: Any) -> None:
    before = api.key_ids("acme")

    refused = problem(post_link(api.acme, body), 400)

    assert refused["status"] == 400
    assert api.key_ids("acme") == before


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{", 400),
        (b"not json", 400),
        (b'{"ttl": "1h", "ttl": "12h"}', 400),
        (json.dumps({"ttl": "1h", "pad": "x" * 100_000}).encode(), 413),
    ],
    ids=["truncated", "not json", "duplicate field", "huge"],
)
def test_a_body_that_is_no_small_json_object_is_refused(
    api: Stack, raw: bytes, status: int
) -> None:
    before = api.key_ids("acme")

    problem(post_link(api.acme, raw=raw), status)

    assert api.key_ids("acme") == before


def test_a_body_sent_as_another_media_type_is_415(api: Stack) -> None:
    response = api.acme.request(
        "POST", "/v1/console-links", body=b"{}", headers={"content-type": "text/plain"}
    )

    problem(response, 415)
