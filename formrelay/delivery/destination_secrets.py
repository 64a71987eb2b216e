"""Destination credentials: signing secrets and auth values, in Secrets Manager.

One secret per tenant (a secret costs $0.40 a month, destinations are many),
named `<prefix><tenant>` (DESTINATION_SECRET_PREFIX, `formrelay/destinations/` by
default: apart from the tenants' key secrets, so no grant on one covers the
other), holding

    {"destinations": {"<form_id>/<destination_id>": {
        "signing_secrets": [{"secret": "whsec_...", "created_at": 1700000000,
                             "expires_at": null}],   # newest first
        "auth": {"api_key": "..."} | {"token": "..."} | {"username": "...", "password": "..."} | {}
    }}}

During a signing-secret rotation the previous secrets stay valid until their
`expires_at`, so deliveries carry every unexpired signature meanwhile.

The documents are secret documents (formrelay.secrets): reads are cached per
process for cache_seconds (a write refreshes the writer's own cache), and every
write is a compare-and-swap, so two admins saving the same tenant's
destinations at once both keep their change (SecretDocumentBusyError when
rivals kept winning).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from formrelay.delivery.signatures import new_signing_secret
from formrelay.domain.ids import DESTINATION_ID, FORM_ID, TENANT_ID, check
from formrelay.secrets.secretsmanager import SecretsManagerDocuments

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from formrelay.secrets.port import Document, SecretDocuments

DEFAULT_OVERLAP_SECONDS = 86400


@dataclass(frozen=True)
class DestinationCredentials:
    """What a delivery needs to sign and authenticate itself."""

    signing_secrets: tuple[str, ...]  # every unexpired secret, newest first
    auth: dict[str, str]


class DestinationSecrets:
    """Reads and writes destinations' credentials, one secret per tenant."""

    def __init__(
        self,
        secret_prefix: str,
        *,
        secretsmanager: SecretsManagerClient | None = None,
        documents: SecretDocuments | None = None,
        cache_seconds: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """documents: where the tenants' documents live (default: Secrets Manager)."""
        self.secret_prefix = secret_prefix
        self.documents = (
            documents
            if documents is not None
            else SecretsManagerDocuments(secretsmanager, clock=clock)
        )
        self.cache_seconds = cache_seconds
        self._clock = clock

    def secret_name(self, tenant_id: str) -> str:
        """The Secrets Manager name of a tenant's destination credentials."""
        check(TENANT_ID, tenant_id, "tenant id")
        return f"{self.secret_prefix}{tenant_id}"

    # --- reads (cached) --------------------------------------------------------

    def credentials(
        self, tenant_id: str, form_id: str, destination_id: str
    ) -> DestinationCredentials:
        """A destination's unexpired signing secrets (newest first) and auth values."""
        entry = self._cached_document(tenant_id).get(_entry_key(form_id, destination_id))
        if not isinstance(entry, dict):
            return DestinationCredentials(signing_secrets=(), auth={})
        return DestinationCredentials(
            signing_secrets=_unexpired(entry, self._clock()),
            auth={str(k): str(v) for k, v in (entry.get("auth") or {}).items()},
        )

    def _cached_document(self, tenant_id: str) -> dict[str, Any]:
        document = self.documents.read(self.secret_name(tenant_id), max_age=self.cache_seconds)
        destinations = document.get("destinations", {})
        return destinations if isinstance(destinations, dict) else {}

    # --- writes (compare-and-swap) --------------------------------------------

    def put(
        self,
        tenant_id: str,
        form_id: str,
        destination_id: str,
        *,
        auth_credentials: dict[str, str] | None,
    ) -> str:
        """Create the entry (with a fresh signing secret) if missing; replace auth when given.

        Returns the newest signing secret.
        """
        key = _entry_key(form_id, destination_id)

        def change(document: Document) -> str:
            destinations = document.setdefault("destinations", {})
            entry = destinations.setdefault(key, {"signing_secrets": [], "auth": {}})
            now = self._clock()
            if not _unexpired(entry, now):
                entry["signing_secrets"] = [_secret_record(new_signing_secret(), now)]
            if auth_credentials is not None:
                entry["auth"] = dict(auth_credentials)
            return _unexpired(entry, now)[0]

        return self.documents.update(self.secret_name(tenant_id), change)

    def rotate_signing_secret(
        self,
        tenant_id: str,
        form_id: str,
        destination_id: str,
        *,
        overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    ) -> str:
        """Put a new signing secret first; the previous ones expire after overlap_seconds."""
        key = _entry_key(form_id, destination_id)

        def change(document: Document) -> str:
            entry = document.setdefault("destinations", {}).setdefault(
                key, {"signing_secrets": [], "auth": {}}
            )
            now = self._clock()
            previous = [
                {**record, "expires_at": min(_expiry(record), int(now) + overlap_seconds)}
                for record in entry.get("signing_secrets", [])
                if _expiry(record) > now
            ]
            fresh = new_signing_secret()
            entry["signing_secrets"] = [_secret_record(fresh, now), *previous]
            return fresh

        return self.documents.update(self.secret_name(tenant_id), change)

    def delete(self, tenant_id: str, form_id: str, destination_id: str) -> None:
        """Forget a destination's credentials (no-op if there are none)."""
        key = _entry_key(form_id, destination_id)

        def change(document: Document) -> None:
            document.get("destinations", {}).pop(key, None)

        self.documents.update(self.secret_name(tenant_id), change)


def _entry_key(form_id: str, destination_id: str) -> str:
    check(FORM_ID, form_id, "form id")
    check(DESTINATION_ID, destination_id, "destination id")
    return f"{form_id}/{destination_id}"


def _secret_record(secret: str, now: float) -> dict[str, Any]:
    return {"secret": secret, "created_at": int(now), "expires_at": None}


def _expiry(record: dict[str, Any]) -> float:
    expires_at = record.get("expires_at")
    return float("inf") if expires_at is None else float(expires_at)


def _unexpired(entry: dict[str, Any], now: float) -> tuple[str, ...]:
    records = [
        r
        for r in entry.get("signing_secrets", [])
        if isinstance(r, dict) and isinstance(r.get("secret"), str) and _expiry(r) > now
    ]
    records.sort(key=lambda r: r.get("created_at", 0), reverse=True)
    return tuple(r["secret"] for r in records)
