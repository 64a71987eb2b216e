"""Destination admin on fakes: settings to the directory, credentials to secret documents only.

The collaborators are the in-memory forms, destinations and secret documents
(through DestinationSecrets); DNS is a resolver that answers a public address.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from typing import Any

import pytest

from formrelay.api.errors import problem_for
from formrelay.delivery.destination_admin import DestinationAdmin
from formrelay.delivery.destination_health import InMemoryDestinationHealth
from formrelay.delivery.destination_secrets import DestinationSecrets
from formrelay.delivery.memory import InMemoryDestinationDirectory
from formrelay.delivery.ssrf import DestinationResolutionTimeoutError
from formrelay.domain.clock import ManualClock
from formrelay.registry.memory import InMemoryFormCatalog
from formrelay.registry.registration import register
from formrelay.secrets.memory import InMemorySecretDocuments, InMemorySecretVault
from formrelay.tables.destination_items import destination_item
from tests.support.events import attempt, failure
from tests.support.refusals import refused

PREFIX = "formrelay/destinations/"
SECRET_VALUES = ("ak_live_topsecret_1", "bearer_topsecret_2", "basic_topsecret_3")


def _public(host: str, *_: Any, **__: Any) -> list[tuple[Any, ...]]:
    """Every name resolves to a public address (no DNS in unit tests); an address to itself."""
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        address = "93.184.216.34"
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 443))]


class Admin:
    """The admin use case over fakes; acme and globex each have a form contact."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.vault = InMemorySecretVault()
        self.directory = InMemoryDestinationDirectory()
        self.health = InMemoryDestinationHealth()
        self.forms = InMemoryFormCatalog(destinations=self.directory.for_form)
        self.secrets = DestinationSecrets(
            PREFIX,
            documents=InMemorySecretDocuments(self.vault, clock=self.clock.unix),
            clock=self.clock.unix,
        )
        self.admin = DestinationAdmin(
            forms=self.forms,
            destinations=self.directory,
            secrets=self.secrets,
            resolve=_public,
            default_schedule=(7, 70),
            health=self.health,
        )
        for tenant_id in ("acme", "globex"):
            register(self.forms, tenant_id, "contact", {"type": "object"})

    def put(self, body: Any, tenant_id: str = "acme", destination_id: str = "crm") -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.admin.put(tenant_id, "contact", destination_id, raw)

    def stored_document(self, tenant_id: str) -> dict[str, Any] | None:
        """The tenant's credential document as the vault holds it."""
        latest = self.vault.latest(PREFIX + tenant_id)
        return None if latest is None else json.loads(latest[0])

    def nothing_stored(self, tenant_id: str, destination_id: str = "crm") -> bool:
        entry = (self.stored_document(tenant_id) or {}).get("destinations", {})
        return (
            self.directory.get(tenant_id, "contact", destination_id) is None
            and f"contact/{destination_id}" not in entry
        )


@pytest.fixture
def admin() -> Admin:
    return Admin()


def body(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "url": "https://hooks.example.com/in",
        "method": "PUT",
        "headers": {"X-Source": "formrelay"},
        "auth": {"type": "api_key", "header": "X-Api-Key", "value": SECRET_VALUES[0]},
        "mapping": {"email": "/email", "form": {"meta": "form_id"}},
        "timeout_seconds": 3,
        "retry_schedule_seconds": [5, 60],
    }
    document.update(overrides)
    return document


def test_a_put_creates_the_destination_and_shows_its_signing_secret_once(admin: Admin) -> None:
    # When a destination is put
    result = admin.put(body())

    # Then it was created, and the answer shows its settings and a fresh signing secret
    assert result.created is True
    assert result.body["signing_secret"].startswith("whsec_")
    assert result.body["url"] == "https://hooks.example.com/in"
    assert result.body["auth"] == {"type": "api_key", "header": "X-Api-Key"}
    assert (result.body["timeout_seconds"], result.body["connect_timeout_seconds"]) == (3.0, 3.0)
    # And a get shows the same settings, with only a hint of the signing secret
    shown = admin.admin.get("acme", "contact", "crm")
    assert "signing_secret" not in shown
    assert shown["signing_secret_hint"] == result.body["signing_secret"][-4:]
    assert {k: v for k, v in shown.items() if k != "signing_secret_hint"} == {
        k: v for k, v in result.body.items() if k != "signing_secret"
    }
    # And the form now loads with it
    form = admin.forms.load("acme", "contact")
    assert form is not None and [d.destination_id for d in form.destinations] == ["crm"]


def test_a_second_put_replaces_the_settings_and_keeps_the_signing_secret(admin: Admin) -> None:
    first = admin.put(body())
    second = admin.put(body(url="https://hooks.example.com/v2", auth={"type": "none"}))

    assert second.created is False
    assert second.body["signing_secret"] == first.body["signing_secret"]
    shown = admin.admin.get("acme", "contact", "crm")
    assert (shown["url"], shown["auth"]) == ("https://hooks.example.com/v2", {"type": "none"})
    assert admin.secrets.credentials("acme", "contact", "crm").auth == {}


def test_a_destination_without_a_schedule_gets_the_deployments_default(admin: Admin) -> None:
    admin.put({"url": "https://hooks.example.com/in"})
    assert admin.admin.get("acme", "contact", "crm")["retry_schedule_seconds"] == [7, 70]


def test_a_put_re_enables_a_disabled_destination(admin: Admin) -> None:
    # Given a destination disabled after a 410
    admin.put(body())
    admin.directory.disable("acme", "contact", "crm", "gone (HTTP 410)")
    assert admin.admin.get("acme", "contact", "crm")["enabled"] is False

    # When it is put again
    again = admin.put(body())

    # Then it is enabled, with no reason left
    assert (again.body["enabled"], again.body["disabled_reason"]) == (True, None)
    shown = admin.admin.get("acme", "contact", "crm")
    assert (shown["enabled"], shown["disabled_reason"]) == (True, None)


def test_delete_removes_settings_and_credentials_then_it_is_404(admin: Admin) -> None:
    admin.put(body())

    admin.admin.delete("acme", "contact", "crm")

    assert admin.nothing_stored("acme")
    with refused(404, "not-found"):
        admin.admin.get("acme", "contact", "crm")
    with refused(404, "not-found"):
        admin.admin.delete("acme", "contact", "crm")


def test_a_destination_deleted_and_created_again_starts_with_no_health(admin: Admin) -> None:
    # Given a destination with attempts, and a second tenant's of the same id
    for tenant_id in ("acme", "globex"):
        admin.put(body(), tenant_id=tenant_id)
        admin.health.record(tenant_id, "contact", "crm", [attempt(1), failure(2)])
    # When acme replaces it, its history stays: the same destination, new settings
    admin.put(body(timeout_seconds=5))
    assert (
        admin.admin.listing("acme", "contact")["destinations"][0]["health"]["recent_attempts"] == 2
    )
    # When acme deletes it, and a late attempt comes in, then creates one of that id
    admin.admin.delete("acme", "contact", "crm")
    assert admin.health.get("acme", "contact", "crm").recent == ()
    admin.health.record("acme", "contact", "crm", [attempt(3)])
    admin.put(body())
    # Then the new destination has no history, and globex's is untouched
    shown = admin.admin.listing("acme", "contact")["destinations"][0]["health"]
    assert shown["recent_attempts"] == 0 and shown["last_error"] is None
    other = admin.admin.listing("globex", "contact")["destinations"][0]["health"]
    assert other["recent_attempts"] == 2 and other["last_error"] is not None


@pytest.mark.parametrize(
    ("auth", "stored"),
    [
        (
            {"type": "api_key", "header": "X-Api-Key", "value": SECRET_VALUES[0]},
            {"api_key": SECRET_VALUES[0]},
        ),
        ({"type": "bearer", "token": SECRET_VALUES[1]}, {"token": SECRET_VALUES[1]}),
        (
            {"type": "basic", "username": "ada", "password": SECRET_VALUES[2]},
            {"username": "ada", "password": SECRET_VALUES[2]},
        ),
    ],
)
def test_credentials_go_to_secret_documents_and_never_to_the_destinations_store(
    admin: Admin, auth: dict[str, str], stored: dict[str, str]
) -> None:
    # When a destination with credentials is put
    result = admin.put(body(auth=auth))

    # Then the secret document holds them, beside the signing secret
    entry = (admin.stored_document("acme") or {})["destinations"]["contact/crm"]
    assert entry["auth"] == stored
    assert [r["secret"] for r in entry["signing_secrets"]] == [result.body["signing_secret"]]
    # And neither the stored destination, nor its table item, nor any answer holds a secret
    destination = admin.directory.get("acme", "contact", "crm")
    assert destination is not None
    seen = json.dumps(
        [
            destination_item(destination),
            destination.public(),
            admin.admin.get("acme", "contact", "crm"),
            {k: v for k, v in result.body.items() if k != "signing_secret"},
        ]
    )
    for secret in (*SECRET_VALUES, result.body["signing_secret"]):
        assert secret not in seen


@pytest.mark.parametrize(
    ("raw", "status", "slug"),
    [
        (b'{"url": ', 400, "malformed-json"),
        (
            b'{"url": "https://a.example.com", "url": "https://b.example.com"}',
            400,
            "malformed-json",
        ),
        (json.dumps({"url": "ftp://x"}).encode(), 422, "validation-failed"),
        (json.dumps(body(method="GET")).encode(), 422, "validation-failed"),
        (json.dumps(body(headers={"Webhook-Id": "x"})).encode(), 422, "validation-failed"),
        (json.dumps(body(mapping={"e": "no-slash"})).encode(), 422, "validation-failed"),
        (json.dumps(body(url="http://169.254.169.254/latest")).encode(), 422, "validation-failed"),
        (json.dumps(body(url="http://127.0.0.1:8080/")).encode(), 422, "validation-failed"),
    ],
)
def test_bad_input_is_refused_and_leaves_nothing_behind(
    admin: Admin, raw: bytes, status: int, slug: str
) -> None:
    with refused(status, slug):
        admin.put(raw)
    assert admin.nothing_stored("acme")
    assert admin.stored_document("acme") is None


def test_validation_names_every_error_by_its_pointer(admin: Admin) -> None:
    bad = body(headers={"Content-Length": "1", "X-Api-Key": "k"}, mapping={"e": "no-slash"})
    with refused(422, "validation-failed") as refusal:
        admin.put(bad)
    assert sorted(refusal.pointers) == ["/headers", "/headers/Content-Length", "/mapping/e"]
    assert admin.nothing_stored("acme")


def test_a_bad_replacement_leaves_the_destination_as_it_was(admin: Admin) -> None:
    admin.put(body())
    before = admin.admin.get("acme", "contact", "crm")
    document = admin.stored_document("acme")

    with refused(422, "validation-failed"):
        admin.put(body(url="http://10.0.0.1/", auth={"type": "bearer", "token": "other"}))

    assert admin.admin.get("acme", "contact", "crm") == before
    assert admin.stored_document("acme") == document


def test_ids_and_forms_that_do_not_exist(admin: Admin) -> None:
    with refused(400, "invalid-destination-id"):
        admin.put(body(), destination_id="Not/An/Id")
    with refused(404, "not-found"):
        admin.admin.put("acme", "survey", "crm", json.dumps(body()).encode())
    with refused(404, "not-found"):
        admin.admin.put("acme", "../contact", "crm", json.dumps(body()).encode())
    with refused(404, "not-found"):
        admin.admin.get("acme", "contact", "Not/An/Id")
    assert admin.stored_document("acme") is None
    assert admin.directory.for_form("acme", "survey") == ()


def test_another_tenant_can_neither_see_nor_change_the_destination(admin: Admin) -> None:
    # Given acme's destination crm
    mine = admin.put(body())

    # Then globex gets 404 for it, whatever it tries
    with refused(404, "not-found"):
        admin.admin.get("globex", "contact", "crm")
    with refused(404, "not-found"):
        admin.admin.delete("globex", "contact", "crm")
    with refused(404, "not-found"):
        admin.admin.rotate_signing_secret("globex", "contact", "crm")

    # And its own crm, put under the same ids, is its own: acme's stays as it was
    theirs = admin.put(body(url="https://globex.example.com/in"), tenant_id="globex")
    assert theirs.created is True
    assert theirs.body["signing_secret"] != mine.body["signing_secret"]
    assert admin.admin.get("acme", "contact", "crm")["url"] == "https://hooks.example.com/in"
    assert admin.secrets.credentials("acme", "contact", "crm").signing_secrets == (
        mine.body["signing_secret"],
    )
    # And a tenant without that form gets 404 for a put
    with refused(404, "not-found"):
        admin.put(body(), tenant_id="initech")
    assert admin.nothing_stored("initech")


def test_rotation_signs_with_both_secrets_until_the_overlap_ends(admin: Admin) -> None:
    first = admin.put(body()).body["signing_secret"]

    second = admin.admin.rotate_signing_secret("acme", "contact", "crm", overlap_seconds=60)

    assert admin.secrets.credentials("acme", "contact", "crm").signing_secrets == (second, first)
    admin.clock.advance(61)
    assert admin.secrets.credentials("acme", "contact", "crm").signing_secrets == (second,)


def test_a_host_whose_resolution_hangs_is_a_422_problem_and_nothing_is_stored() -> None:
    released = threading.Event()

    def hangs(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        released.wait(30)
        return _public(host, port)

    world = Admin()
    world.admin.resolve = hangs
    world.admin.resolve_timeout_seconds = 0.2
    try:
        with pytest.raises(DestinationResolutionTimeoutError) as caught:
            world.put(body(url="https://slow-dns.example.com/in"))
    finally:
        released.set()
    problem = problem_for(caught.value)
    assert problem is not None
    assert (problem.status, problem.slug) == (422, "destination-resolution-timeout")
    assert world.nothing_stored("acme")
