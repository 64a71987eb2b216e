"""Seeding a tenant by hand: tenant, key, a form with its schema, one destination.

The demo tenant may also get forms whose destinations fail (seed_demo_forms), so
that a submission to each shows every state a delivery ends in.

The form is registered by the same use case as PUT /v1/forms/{form_id}
(formrelay.registry.registration), with its checks: seeding needs no HTTP front up,
yet no form gets a version another way.

Used by `formrelay dev --demo` and by tests; works against AWS or the local
stack alike (it uses whatever AWS_ENDPOINT_URL says), with an operator's
services: they name every table and secret prefix, which no one function has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from formrelay.auth import scopes
from formrelay.auth.tenants import Tenant
from formrelay.composition import Services
from formrelay.domain.destinations import DEFAULT_RETRY_SCHEDULE, Destination
from formrelay.registry.registration import register

CONTACT_FORM_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "contact",
    "type": "object",
    "required": ["email", "name"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string", "minLength": 1},
        "message": {"type": "string", "maxLength": 5000},
    },
}


@dataclass(frozen=True)
class SeededTenant:
    """What seeding made: the key's secret is shown once, here."""

    tenant_id: str
    key_id: str
    secret: str
    form_id: str
    destination_id: str
    webhook_secret: str

    def as_dict(self) -> dict[str, str]:
        """The seeded tenant as plain strings."""
        return {
            "tenant_id": self.tenant_id,
            "key_id": self.key_id,
            "secret": self.secret,
            "form_id": self.form_id,
            "destination_id": self.destination_id,
            "webhook_secret": self.webhook_secret,
        }


def create_tenant(services: Services, tenant_id: str, name: str | None = None) -> Tenant:
    """Record a tenant (idempotent for the same name; TenantExistsError for another)."""
    return services.tenants.create(tenant_id, name or tenant_id)


def seed_tenant(
    services: Services,
    *,
    tenant_id: str,
    form_id: str,
    schema: dict[str, Any],
    destination_url: str,
    destination_id: str = "primary",
    key_scopes: frozenset[str] = scopes.ALL_SCOPES,
) -> SeededTenant:
    """A tenant with one key, one form and one destination, ready to take submissions."""
    create_tenant(services, tenant_id)
    key, secret = services.keys.create(tenant_id, key_scopes)
    register(services.forms, tenant_id, form_id, schema)
    services.destinations.put(
        Destination(
            tenant_id=tenant_id,
            form_id=form_id,
            destination_id=destination_id,
            url=destination_url,
        )
    )
    webhook_secret = services.destination_secrets.put(
        tenant_id, form_id, destination_id, auth_credentials=None
    )
    return SeededTenant(tenant_id, key.key_id, secret, form_id, destination_id, webhook_secret)


def seed_demo(services: Services, sink_url: str) -> dict[str, str]:
    """The demo tenant: a `contact` form delivering to the local receiver."""
    seeded = seed_tenant(
        services,
        tenant_id="demo",
        form_id="contact",
        schema=CONTACT_FORM_SCHEMA,
        destination_url=sink_url.rstrip("/") + "/hooks/contact",
    )
    return seeded.as_dict()


@dataclass(frozen=True)
class DemoForm:
    """A demo form whose one destination, at the demo receiver, ends deliveries one way."""

    form_id: str
    destination_id: str
    path: str  # on the demo receiver: /status/<code> answers that status
    shows: str  # the destination's state its submission shows (formrelay.views.status)
    payload: dict[str, str]  # what the demo submits to it
    retry_schedule_seconds: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE


# seed_demo's form; a submission to it is delivered.
DEMO_DELIVERED = DemoForm(
    "contact",
    "primary",
    "/hooks/contact",
    "delivered",
    {"name": "Ada", "email": "ada@example.com", "message": "Could we talk about pricing?"},
)
# Forms whose receiver answers 503 (one that is down: retried) or 410 (one that is gone:
# final, and the destination is disabled until an admin enables it again). A submission
# to each of DEMO_FORMS shows every state at once.
DEMO_FAILING = (
    # On the default schedule (5 s, 5 min, 30 min, ...): retrying, its next attempt due.
    DemoForm(
        "newsletter",
        "mailing-list",
        "/status/503",
        "retrying",
        {"name": "Grace", "email": "grace@example.com", "message": "Please sign me up."},
    ),
    # Two retries a second or two apart: its schedule runs out in seconds.
    DemoForm(
        "quote",
        "crm",
        "/status/503",
        "dead_lettered",
        {"name": "Alan", "email": "alan@example.com", "message": "A quote for 40 seats?"},
        retry_schedule_seconds=(1, 2),
    ),
    DemoForm(
        "support",
        "helpdesk",
        "/status/410",
        "failed",
        {"name": "Edsger", "email": "edsger@example.com", "message": "The form is down."},
    ),
)
DEMO_FORMS = (DEMO_DELIVERED, *DEMO_FAILING)


def seed_demo_forms(services: Services, tenant_id: str, sink_url: str) -> None:
    """DEMO_FAILING's forms for the demo tenant, each with its one destination."""
    for demo in DEMO_FAILING:
        schema = {**CONTACT_FORM_SCHEMA, "title": demo.form_id}
        register(services.forms, tenant_id, demo.form_id, schema)
        services.destinations.put(
            Destination(
                tenant_id=tenant_id,
                form_id=demo.form_id,
                destination_id=demo.destination_id,
                url=sink_url.rstrip("/") + demo.path,
                retry_schedule_seconds=demo.retry_schedule_seconds,
            )
        )
        services.destination_secrets.put(
            tenant_id, demo.form_id, demo.destination_id, auth_credentials=None
        )
