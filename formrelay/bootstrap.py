"""Seeding a tenant by hand: tenant, key, a form with its schema, one destination.

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
from formrelay.domain.destinations import Destination
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
