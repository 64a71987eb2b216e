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
Reads are cached per container (Powertools SecretsProvider) for cache_seconds,
measured on the injected clock; a write refreshes the writer's cache only: another
function's container sees the change once its own cache expires, as on AWS.

Writes are read-modify-write of the tenant's whole document, made safe by a
compare-and-swap Secrets Manager does offer: the new document is put under a
label of its own, then AWSCURRENT is moved to it *from the version that was
read* (update_secret_version_stage fails when AWSCURRENT has moved on since).
A writer that loses the race reads again and reapplies its change, so two
admins saving the same tenant's destinations at once both keep their change.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from formrelay.delivery.signatures import new_signing_secret
from formrelay.domain.errors import FormrelayError
from formrelay.domain.ids import DESTINATION_ID, FORM_ID, TENANT_ID, check

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

DEFAULT_OVERLAP_SECONDS = 86400
# Powertools caches by name and transform only, never by VersionStage: every read
# here asks for AWSCURRENT explicitly (moto answers stale values without a stage).
_STAGE = "AWSCURRENT"
# Where a write puts its new version before AWSCURRENT is swapped to it.
_STAGED = "FORMRELAY_STAGED"
# Powertools keeps each value this long; when to read again is decided on our clock.
_POWERTOOLS_MAX_AGE = 10 * 365 * 86400
_WRITE_TRIES = 6
_WRITE_BACKOFF_SECONDS = 0.2
# What Secrets Manager answers when the swap's premise no longer holds.
_LOST_RACE = ("InvalidParameterException", "ResourceExistsException")

Change = Callable[[dict[str, Any]], tuple[Any, bool]]


class DestinationSecretsError(FormrelayError):
    """A tenant's destination secret could not be read or is malformed."""


class DestinationSecretsBusyError(DestinationSecretsError):
    """Other writers kept changing the tenant's destination secret: try again."""


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
        cache_seconds: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret_prefix = secret_prefix
        self._secretsmanager = secretsmanager
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._provider: SecretsProvider | None = None
        self._refresh: set[str] = set()
        self._fetched_at: dict[str, float] = {}

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        """The Secrets Manager client, built on first use."""
        if self._secretsmanager is None:
            self._secretsmanager = boto3.client("secretsmanager")
        return self._secretsmanager

    @property
    def provider(self) -> SecretsProvider:
        """The caching reader, built on first use."""
        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=self.secretsmanager)
        return self._provider

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
        name = self.secret_name(tenant_id)
        # The cache's age is measured on the injected clock (Powertools' own expiry,
        # on the wall clock, is never reached first): a test can let it expire at once.
        fetched_at = self._fetched_at.get(name)
        now = self._clock()
        stale = fetched_at is None or now - fetched_at >= self.cache_seconds
        force = stale or name in self._refresh
        try:
            document = self.provider.get(
                name,
                max_age=_POWERTOOLS_MAX_AGE,
                transform="json",
                force_fetch=force,
                VersionStage=_STAGE,
            )
        except GetParameterError as exc:
            if _not_found(exc):
                return {}
            raise DestinationSecretsError(f"cannot read {name}") from exc
        if force:
            self._fetched_at[name] = now
        self._refresh.discard(name)
        if not isinstance(document, dict):
            raise DestinationSecretsError(f"{name} does not hold a JSON object")
        destinations = document.get("destinations", {})
        return destinations if isinstance(destinations, dict) else {}

    # --- writes (uncached read, then put) --------------------------------------

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

        def change(document: dict[str, Any]) -> tuple[str, bool]:
            destinations = document.setdefault("destinations", {})
            entry = destinations.setdefault(key, {"signing_secrets": [], "auth": {}})
            now = self._clock()
            if not _unexpired(entry, now):
                entry["signing_secrets"] = [_secret_record(new_signing_secret(), now)]
            if auth_credentials is not None:
                entry["auth"] = dict(auth_credentials)
            return _unexpired(entry, now)[0], True

        return str(self._update(tenant_id, change))

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

        def change(document: dict[str, Any]) -> tuple[str, bool]:
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
            return fresh, True

        return str(self._update(tenant_id, change))

    def delete(self, tenant_id: str, form_id: str, destination_id: str) -> None:
        """Forget a destination's credentials (no-op if there are none)."""
        key = _entry_key(form_id, destination_id)

        def change(document: dict[str, Any]) -> tuple[None, bool]:
            return None, document.get("destinations", {}).pop(key, None) is not None

        self._update(tenant_id, change)

    def _update(self, tenant_id: str, change: Change) -> Any:
        """Apply change to the tenant's document and swap it in; on a lost race, again."""
        for _ in range(_WRITE_TRIES):
            document, version_id = self._read_for_write(tenant_id)
            result, changed = change(document)
            if not changed or self._swap(tenant_id, document, version_id):
                return result
            time.sleep(random.uniform(0, _WRITE_BACKOFF_SECONDS))
        raise DestinationSecretsBusyError(f"{self.secret_name(tenant_id)} kept changing")

    def _read_for_write(self, tenant_id: str) -> tuple[dict[str, Any], str | None]:
        """The current document (uncached) and its version id (None: no secret yet)."""
        name = self.secret_name(tenant_id)
        try:
            answer = self.secretsmanager.get_secret_value(SecretId=name, VersionStage=_STAGE)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return {"destinations": {}}, None
            raise
        document = json.loads(answer["SecretString"])
        if not isinstance(document, dict):
            raise DestinationSecretsError(f"{name} does not hold a JSON object")
        return document, answer["VersionId"]

    def _swap(self, tenant_id: str, document: dict[str, Any], read: str | None) -> bool:
        """Make document current if the current version is still `read`; False if it is not."""
        name = self.secret_name(tenant_id)
        text = json.dumps(document, sort_keys=True)
        try:
            if read is None:
                self.secretsmanager.create_secret(Name=name, SecretString=text)
            else:
                staged = self.secretsmanager.put_secret_value(
                    SecretId=name, SecretString=text, VersionStages=[_STAGED]
                )
                self.secretsmanager.update_secret_version_stage(
                    SecretId=name,
                    VersionStage=_STAGE,
                    MoveToVersionId=staged["VersionId"],
                    RemoveFromVersionId=read,
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _LOST_RACE:
                return False
            raise
        self._refresh.add(name)
        return True


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


def _not_found(exc: GetParameterError) -> bool:
    cause = exc.__cause__ or exc.__context__
    return (
        isinstance(cause, ClientError)
        and cause.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
    )
