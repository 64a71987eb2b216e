"""The destination admin API over the local stack: signed HTTP, authorizer, handler, moto.

Given a local stack provisioned from a small template (the real authorizer and
admin handlers, the Views table as infra/template.yaml declares it) and two
seeded tenants, these tests drive PUT/GET/DELETE with the signed client.
"""

from __future__ import annotations

import argparse
import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from formrelay.bootstrap import seed_tenant
from formrelay.cli import destinations as cli_destinations
from formrelay.client import Credentials, FormrelayClient
from formrelay.delivery.destination_secrets import DestinationSecrets
from formrelay.local.dev import LocalStack
from tests.support.signed_api import SIGNED_HTTP_API

ALLOWED_INTERNAL = "127.0.0.1:9"
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
        DELIVERY_QUEUE_URL: !Ref DeliveryQueue
        TENANT_SECRET_PREFIX: formrelay/tenants/
        DESTINATION_SECRET_PREFIX: formrelay/destinations/
        POWERTOOLS_SERVICE_NAME: formrelay
        POWERTOOLS_LOG_LEVEL: WARNING
        DELIVERY_ALLOWED_DESTINATIONS: "{ALLOWED_INTERNAL}"
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
        - {{AttributeName: gsi1pk, AttributeType: S}}
        - {{AttributeName: gsi1sk, AttributeType: S}}
      KeySchema:
        - {{AttributeName: pk, KeyType: HASH}}
        - {{AttributeName: sk, KeyType: RANGE}}
      GlobalSecondaryIndexes:
        - IndexName: gsi1
          KeySchema:
            - {{AttributeName: gsi1pk, KeyType: HASH}}
            - {{AttributeName: gsi1sk, KeyType: RANGE}}
          Projection: {{ProjectionType: ALL}}
  DeliveryQueue:
    Type: AWS::SQS::Queue
{SIGNED_HTTP_API}  AdminFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handlers.admin.handler
      Events:
        PutDestination:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: PUT
            Path: /v1/forms/{{form_id}}/destinations/{{destination_id}}
        GetDestination:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: GET
            Path: /v1/forms/{{form_id}}/destinations/{{destination_id}}
        DeleteDestination:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: DELETE
            Path: /v1/forms/{{form_id}}/destinations/{{destination_id}}
"""


class Admin:
    """The running stack, the seeded tenants and their signed clients."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.services = stack.operator_services()
        self.acme = self._seed("acme")
        self.umbrella = self._seed("umbrella")
        key, secret = self.services.keys.create("acme", frozenset({"submit", "read"}))
        self.acme_reader = self._client(key.key_id, secret)

    def _seed(self, tenant_id: str) -> FormrelayClient:
        seeded = seed_tenant(
            self.services,
            tenant_id=tenant_id,
            form_id="contact",
            schema=SCHEMA,
            destination_url=PUBLIC_URL,
        )
        return self._client(seeded.key_id, seeded.secret)

    def _client(self, key_id: str, secret: str) -> FormrelayClient:
        return FormrelayClient(Credentials(self.stack.endpoint, key_id, secret))

    def views_items(self) -> list[dict[str, Any]]:
        """Every item of the Views table."""
        pages = self.services.dynamodb.get_paginator("scan").paginate(
            TableName=self.services.settings.views_table
        )
        return [item for page in pages for item in page["Items"]]

    def stored_credentials(self, tenant_id: str) -> dict[str, Any]:
        """A tenant's destination secret document, read straight from Secrets Manager."""
        answer = self.services.secretsmanager.get_secret_value(
            SecretId=f"formrelay/destinations/{tenant_id}", VersionStage="AWSCURRENT"
        )
        document: dict[str, Any] = json.loads(answer["SecretString"])
        return document


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    """Given a local stack with the admin API and two tenants, acme and umbrella."""
    template = tmp_path_factory.mktemp("infra") / "template.yaml"
    template.write_text(textwrap.dedent(TEMPLATE))
    with LocalStack(template, stack_name="fradm") as stack:
        yield Admin(stack)


def api_key_destination(**overrides: Any) -> dict[str, Any]:
    """A valid PUT body with api_key auth."""
    body: dict[str, Any] = {
        "url": PUBLIC_URL,
        "method": "PUT",
        "headers": {"X-Source": "formrelay"},
        "auth": {"type": "api_key", "header": "X-Api-Key", "value": "ak_live_topsecret_1"},
        "mapping": {"email": "/email", "form": {"meta": "form_id"}, "v": {"const": 2}},
        "timeout_seconds": 3,
        "retry_schedule_seconds": [5, 60],
    }
    body.update(overrides)
    return body


# --- create, replace, read, delete -------------------------------------------


def test_create_answers_201_with_a_whsec_signing_secret(admin: Admin) -> None:
    response = admin.acme.put_destination("contact", "crm", api_key_destination())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["signing_secret"].startswith("whsec_")
    assert body["auth"] == {"type": "api_key", "header": "X-Api-Key"}
    assert (body["timeout_seconds"], body["connect_timeout_seconds"]) == (3, 3)
    assert body["retry_schedule_seconds"] == [5, 60]
    assert body["enabled"] is True
    assert "ak_live_topsecret_1" not in response.text


def test_replace_answers_200_and_keeps_the_signing_secret(admin: Admin) -> None:
    first = admin.acme.put_destination("contact", "replace-me", api_key_destination()).json()
    response = admin.acme.put_destination(
        "contact", "replace-me", {"url": PUBLIC_URL, "timeout_seconds": 20}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["signing_secret"] == first["signing_secret"]
    assert body["auth"] == {"type": "none"}
    assert body["method"] == "POST"
    assert (body["timeout_seconds"], body["connect_timeout_seconds"]) == (20, 5)
    assert body["mapping"] is None
    document = admin.stored_credentials("acme")["destinations"]["contact/replace-me"]
    assert document["auth"] == {}  # replaced: the old api key is gone


def test_put_re_enables_a_disabled_destination(admin: Admin) -> None:
    admin.acme.put_destination("contact", "gone-410", {"url": PUBLIC_URL})
    admin.services.destinations.disable("acme", "contact", "gone-410", "http_410")

    body = admin.acme.put_destination("contact", "gone-410", {"url": PUBLIC_URL}).json()

    assert (body["enabled"], body["disabled_reason"]) == (True, None)


def test_get_shows_no_secret_only_a_hint(admin: Admin) -> None:
    created = admin.acme.put_destination("contact", "readable", api_key_destination()).json()

    response = admin.acme.get_destination("contact", "readable")

    assert response.status_code == 200
    body = response.json()
    assert "signing_secret" not in body
    assert body["signing_secret_hint"] == created["signing_secret"][-4:]
    assert created["signing_secret"] not in response.text
    assert "ak_live_topsecret_1" not in response.text
    assert body["mapping"] == api_key_destination()["mapping"]


def test_delete_answers_204_then_404(admin: Admin) -> None:
    admin.acme.put_destination("contact", "short-lived", api_key_destination())

    first = admin.acme.delete_destination("contact", "short-lived")
    again = admin.acme.delete_destination("contact", "short-lived")
    read = admin.acme.get_destination("contact", "short-lived")

    assert (first.status_code, first.content) == (204, b"")
    assert again.status_code == 404
    assert read.status_code == 404
    assert "contact/short-lived" not in admin.stored_credentials("acme")["destinations"]


def test_unknown_form_is_404(admin: Admin) -> None:
    response = admin.acme.put_destination("no-such-form", "crm", api_key_destination())

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


# --- validation ----------------------------------------------------------------


def test_invalid_body_is_422_with_pointers(admin: Admin) -> None:
    body = {
        "method": "GET",
        "headers": {"Host": "evil", "Webhook-Signature": "x", "X-Ok": "fine"},
        "auth": {"type": "bearer"},
        "timeout_seconds": 31,
        "retry_schedule_seconds": [0, 90000],
        "mapping": {"email": "email", "who": {"meta": "password"}},
        "colour": "blue",
    }
    response = admin.acme.put_destination("contact", "bad", body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in response.json()["errors"]}
    # "" for colour (not allowed); a missing url or token at its own pointer
    assert {"", "/url", "/method", "/auth/token", "/timeout_seconds"} <= pointers
    assert {"/retry_schedule_seconds/0", "/retry_schedule_seconds/1"} <= pointers
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert "url" in messages and "colour" in messages
    assert admin.acme.get_destination("contact", "bad").status_code == 404


def test_reserved_headers_and_bad_mapping_sources_are_422_with_pointers(admin: Admin) -> None:
    body = api_key_destination(
        headers={"Host": "evil", "webhook-id": "x", "Transfer-Encoding": "chunked", "X-Ok": "1"},
        mapping={"email": "email", "who": {"meta": "password"}},
    )
    response = admin.acme.put_destination("contact", "bad-rules", body)

    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {
        "/headers/Host",
        "/headers/webhook-id",
        "/headers/Transfer-Encoding",
        "/mapping/email",
        "/mapping/who",
    }


def test_malformed_json_is_400(admin: Admin) -> None:
    response = admin.acme.request(
        "PUT", "/v1/forms/contact/destinations/crm", body=b'{"url": 1, "url": 2}'
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-json")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/",
        "http://[::ffff:127.0.0.1]/",
        "ftp://93.184.215.14/",
        "https://user:pw@93.184.215.14/",
    ],
)
def test_ssrf_refused_url_is_422_at_url(admin: Admin, url: str) -> None:
    response = admin.acme.put_destination("contact", "ssrf", api_key_destination(url=url))

    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["/url"]
    assert admin.acme.get_destination("contact", "ssrf").status_code == 404


def test_an_allowed_internal_destination_passes(admin: Admin) -> None:
    url = f"http://{ALLOWED_INTERNAL}/hooks"
    response = admin.acme.put_destination("contact", "internal", {"url": url})

    assert response.status_code == 201, response.text


# --- where credentials live ------------------------------------------------------


def test_credentials_are_in_secrets_manager_and_nowhere_in_the_views_table(admin: Admin) -> None:
    secrets = {
        "api_key": "ak_only_in_secrets_9f8e",
        "bearer": "tok_only_in_secrets_7d6c",
        "password": "pw_only_in_secrets_5b4a",
    }
    created = [
        admin.acme.put_destination(
            "contact",
            "cred-api-key",
            api_key_destination(
                auth={"type": "api_key", "header": "X-Api-Key", "value": secrets["api_key"]}
            ),
        ),
        admin.acme.put_destination(
            "contact",
            "cred-bearer",
            {"url": PUBLIC_URL, "auth": {"type": "bearer", "token": secrets["bearer"]}},
        ),
        admin.acme.put_destination(
            "contact",
            "cred-basic",
            {
                "url": PUBLIC_URL,
                "auth": {"type": "basic", "username": "ada", "password": secrets["password"]},
            },
        ),
    ]
    assert [r.status_code for r in created] == [201, 201, 201]
    signing = [r.json()["signing_secret"] for r in created]

    stored = admin.stored_credentials("acme")["destinations"]
    assert stored["contact/cred-api-key"]["auth"] == {"api_key": secrets["api_key"]}
    assert stored["contact/cred-bearer"]["auth"] == {"token": secrets["bearer"]}
    assert stored["contact/cred-basic"]["auth"] == {
        "username": "ada",
        "password": secrets["password"],
    }
    table = json.dumps(admin.views_items())
    for value in [*secrets.values(), *signing]:
        assert value not in table

    reader = DestinationSecrets(
        "formrelay/destinations/", secretsmanager=admin.services.secretsmanager
    )
    credentials = reader.credentials("acme", "contact", "cred-bearer")
    assert credentials.signing_secrets == (signing[1],)
    assert credentials.auth == {"token": secrets["bearer"]}


# --- tenants and scopes ------------------------------------------------------------


def test_another_tenants_destination_is_404_never_403(admin: Admin) -> None:
    admin.acme.put_destination("contact", "private", api_key_destination())

    read = admin.umbrella.get_destination("contact", "private")
    deleted = admin.umbrella.delete_destination("contact", "private")

    assert (read.status_code, deleted.status_code) == (404, 404)
    assert admin.acme.get_destination("contact", "private").status_code == 200


def test_a_put_by_another_tenant_touches_only_its_own_form(admin: Admin) -> None:
    acme_before = admin.acme.get_destination("contact", "primary").json()

    response = admin.umbrella.put_destination("contact", "primary", {"url": PUBLIC_URL + "/u"})

    assert response.status_code == 200  # umbrella's own contact/primary, seeded
    assert admin.acme.get_destination("contact", "primary").json() == acme_before
    assert admin.umbrella.put_destination("acme-only", "x", {"url": PUBLIC_URL}).status_code == 404


def test_a_key_without_admin_scope_gets_403(admin: Admin) -> None:
    for response in (
        admin.acme_reader.put_destination("contact", "crm", api_key_destination()),
        admin.acme_reader.get_destination("contact", "primary"),
        admin.acme_reader.delete_destination("contact", "primary"),
    ):
        assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


# --- the secrets store on its own (same moto) ---------------------------------------


def test_rotation_returns_both_secrets_until_the_overlap_ends(admin: Admin) -> None:
    now = [time.time()]
    store = DestinationSecrets(
        "formrelay/rotation-test/",
        secretsmanager=admin.services.secretsmanager,
        cache_seconds=300,
        clock=lambda: now[0],
    )
    first = store.put("acme", "contact", "rot", auth_credentials=None)
    assert store.credentials("acme", "contact", "rot").signing_secrets == (first,)

    second = store.rotate_signing_secret("acme", "contact", "rot", overlap_seconds=60)

    assert second != first and second.startswith("whsec_")
    assert store.credentials("acme", "contact", "rot").signing_secrets == (second, first)
    assert store.put("acme", "contact", "rot", auth_credentials=None) == second
    now[0] += 61
    assert store.credentials("acme", "contact", "rot").signing_secrets == (second,)


def test_a_missing_tenant_secret_means_no_credentials(admin: Admin) -> None:
    store = DestinationSecrets("formrelay/nobody/", secretsmanager=admin.services.secretsmanager)

    credentials = store.credentials("acme", "contact", "none")

    assert (credentials.signing_secrets, credentials.auth) == ((), {})
    store.delete("acme", "contact", "none")  # nothing to delete: no error


def test_secret_names_are_one_per_tenant_and_apart_from_key_secrets(admin: Admin) -> None:
    """Key secrets and destination secrets never share a prefix (IAM grants them apart)."""
    names = [
        s["Name"]
        for page in admin.services.secretsmanager.get_paginator("list_secrets").paginate()
        for s in page["SecretList"]
    ]
    keys = {n for n in names if n.startswith("formrelay/tenants/")}
    destinations = [n for n in names if n.startswith("formrelay/destinations/")]
    assert keys == {"formrelay/tenants/acme", "formrelay/tenants/umbrella"}
    assert len(destinations) == len(set(destinations))
    assert set(destinations) == {"formrelay/destinations/acme", "formrelay/destinations/umbrella"}


# --- the command line ------------------------------------------------------------------


def _cli(admin: Admin, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="formrelay")
    cli_destinations.add_commands(parser.add_subparsers(dest="command", required=True))
    key_id, secret = admin.acme.credentials.key_id, admin.acme.credentials.secret
    flags = ["--endpoint", admin.stack.endpoint, "--key-id", key_id, "--secret", secret]
    code = cli_destinations.run(parser.parse_args([*argv, *flags]))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_put_get_delete(
    admin: Admin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("tok_from_a_file\n")
    target = ["--form", "contact", "--id", "from-cli"]

    code, out, _ = _cli(
        admin,
        capsys,
        "destinations",
        "put",
        *target,
        "--url",
        PUBLIC_URL,
        "--header",
        "X-Team=growth",
        "--token",
        f"@{token_file}",
        "--mapping",
        '{"mail": "/email"}',
        "--timeout",
        "4",
        "--retry-schedule",
        "10,600",
    )
    assert code == 0
    created = json.loads(out)
    assert created["auth"] == {"type": "bearer"}
    assert created["headers"] == {"X-Team": "growth"}
    assert created["retry_schedule_seconds"] == [10, 600]
    assert admin.stored_credentials("acme")["destinations"]["contact/from-cli"]["auth"] == {
        "token": "tok_from_a_file"
    }

    code, out, _ = _cli(admin, capsys, "destinations", "get", *target)
    assert code == 0 and "signing_secret_hint" in json.loads(out)

    assert _cli(admin, capsys, "destinations", "delete", *target)[0] == 0
    code, _, err = _cli(admin, capsys, "destinations", "get", *target)
    assert code == 1 and "not-found" in err


def test_cli_refuses_bad_flags_before_calling(
    admin: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["destinations", "put", "--form", "contact", "--id", "x", "--url", PUBLIC_URL]

    assert _cli(admin, capsys, *base, "--header", "novalue")[0] == 2
    assert _cli(admin, capsys, *base, "--auth-type", "basic", "--username", "u")[0] == 2
    assert _cli(admin, capsys, *base, "--mapping", "{nope")[0] == 2
    assert _cli(admin, capsys, *base, "--retry-schedule", "5,soon")[0] == 2
