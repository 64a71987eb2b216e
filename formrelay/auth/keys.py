"""Tenant API keys: metadata in the Views table, secrets in one secret document per tenant.

One document per tenant holds every key's secret (a secret costs money every
month, keys are many), named `<prefix><tenant>` (TENANT_SECRET_PREFIX):

    {"keys": {"<key_id>": {"current": "frsk_...", "pending": "frsk_..."}}}

`pending` is there only while the key is being rotated; both secrets verify
meanwhile. Finishing makes it `current` (the old one stops verifying),
cancelling drops it. Each change (create, revoke, rotation start, finish,
cancel) is one compare-and-swap update of the document (formrelay.secrets), so
operators changing one tenant's keys at the same moment each keep their change.

A revoked key stops at once whatever the secret caches hold: the authorizer
reads the key's state from the table on every request. It reads secrets
through a cache; a key the table holds but the cached document lacks (made
since the cache was filled) makes it fetch the document anew, at most once a
second per key id: a new key works at once, and a key missing even from the
fresh document costs no fetch per request.
"""

from __future__ import annotations

import builtins
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.auth import scopes as scope_names
from formrelay.auth.tenants import RateLimit
from formrelay.domain.clock import rfc3339
from formrelay.domain.errors import (
    InvalidScopesError,
    KeyRevokedError,
    NoRotationPendingError,
    RotationPendingError,
    UnknownKeyError,
)
from formrelay.domain.ids import TENANT_ID, check
from formrelay.secrets.port import SecretDocumentError
from formrelay.secrets.secretsmanager import SecretsManagerDocuments
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from formrelay.secrets.port import Document, SecretDocuments

ACTIVE = "active"
REVOKED = "revoked"
# A key missing from the cached document is fetched for at most this often.
REFETCH_INTERVAL_SECONDS = 1.0
# The key item's expiry attribute (unix seconds).
_VALID_UNTIL = "valid_until"


@dataclass(frozen=True)
class KeyRecord:
    """What the API knows of a key besides its secret."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]
    state: str
    rate_limit: RateLimit | None = None
    # When the key stops working (unix seconds; None: never): a short-lived key, such as
    # a console link's, needs no revocation to end.
    expires_at: int | None = None

    @property
    def active(self) -> bool:
        """Whether the key is in force (not revoked); see `expired` for its expiry."""
        return self.state == ACTIVE

    def expired(self, now: float) -> bool:
        """Whether the key's expiry has come at `now` (unix seconds)."""
        return self.expires_at is not None and now >= self.expires_at

    def as_dict(self) -> dict[str, object]:
        """The key's metadata as plain values (never its secret)."""
        limit = self.rate_limit
        return {
            "key_id": self.key_id,
            "tenant_id": self.tenant_id,
            "scopes": sorted(self.scopes),
            "state": self.state,
            "rate_per_second": limit.rate_per_second if limit else None,
            "burst": limit.burst if limit else None,
            "expires_at": None if self.expires_at is None else _rfc3339(self.expires_at),
        }


@dataclass(frozen=True)
class ListedKey:
    """A key as an operator sees it: metadata, and whether a rotation is pending."""

    record: KeyRecord
    rotation_pending: bool

    def as_dict(self) -> dict[str, object]:
        """The listing as plain values (never a secret)."""
        return {**self.record.as_dict(), "rotation_pending": self.rotation_pending}


def new_key_id(tenant_id: str) -> str:
    """A key id that names its tenant: `<tenant>.<16 hex>`."""
    check(TENANT_ID, tenant_id, "tenant id")
    return f"{tenant_id}.{secrets.token_hex(8)}"


def new_key_secret() -> str:
    """A fresh key secret (256 bits)."""
    return "frsk_" + secrets.token_urlsafe(32)


class KeyDirectory(ViewsTableAdapter):
    """Reads and writes key metadata and key secrets."""

    def __init__(
        self,
        views_table: str,
        secret_prefix: str,
        *,
        dynamodb: DynamoDBClient | None = None,
        secretsmanager: SecretsManagerClient | None = None,
        documents: SecretDocuments | None = None,
        cache_seconds: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """documents: where the tenants' key documents live (default: Secrets Manager)."""
        super().__init__(views_table, dynamodb)
        self.secret_prefix = secret_prefix
        self.documents = (
            documents if documents is not None else SecretsManagerDocuments(secretsmanager)
        )
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._refetched_at: dict[str, float] = {}  # key id -> when it was last fetched for

    def secret_name(self, tenant_id: str) -> str:
        """The Secrets Manager name of a tenant's key secrets."""
        return f"{self.secret_prefix}{tenant_id}"

    # --- metadata (the Views table) ---------------------------------------------

    def get(self, tenant_id: str, key_id: str) -> KeyRecord | None:
        """A key's metadata, or None if the tenant has no such key."""
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key={"pk": {"S": vk.tenant_pk(tenant_id)}, "sk": {"S": vk.key_sk(key_id)}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return _record(tenant_id, item)

    def list(self, tenant_id: str) -> builtins.list[ListedKey]:
        """Every key of a tenant with its rotation state (read fresh; never a secret)."""
        check(TENANT_ID, tenant_id, "tenant id")
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.views_table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :key)",
            ExpressionAttributeValues={
                ":pk": {"S": vk.tenant_pk(tenant_id)},
                ":key": {"S": vk.key_sk("")},
            },
            ConsistentRead=True,
        )
        records = [_record(tenant_id, item) for page in pages for item in page["Items"]]
        entries = self._latest_entries(tenant_id) if records else {}
        return [ListedKey(r, _pending(entries.get(r.key_id)) is not None) for r in records]

    def rotation_pending(self, tenant_id: str, key_id: str) -> bool:
        """Whether a key has a new secret waiting to become its only one (read fresh)."""
        return _pending(self._latest_entries(tenant_id).get(key_id)) is not None

    # --- changes (each one compare-and-swap update of the tenant's document) ---

    def create(
        self,
        tenant_id: str,
        scopes: frozenset[str],
        rate_limit: RateLimit | None = None,
        *,
        expires_at: int | None = None,
    ) -> tuple[KeyRecord, str]:
        """Make a key: its secret joins the tenant's document, then its metadata the table.

        rate_limit: this key's own limit, written on the key item (None: none).
        expires_at: when the authorizer starts refusing it (unix seconds; None: never).
        """
        unknown = scopes - scope_names.ALL_SCOPES
        if unknown or not scopes:
            raise InvalidScopesError(
                f"scopes must be a non-empty subset of {sorted(scope_names.ALL_SCOPES)}"
            )
        key_id, secret = new_key_id(tenant_id), new_key_secret()

        def add_key(document: Document) -> None:
            document["keys"] = {**_entries(document), key_id: {"current": secret}}

        # The secret first: a key the table lists always has its secret (the
        # authorizer fetches the document anew for a key it does not find there).
        self.documents.update(self.secret_name(tenant_id), add_key)
        item: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": vk.tenant_pk(tenant_id)},
            "sk": {"S": vk.key_sk(key_id)},
            "tenant_id": {"S": tenant_id},
            "key_id": {"S": key_id},
            "scopes": {"SS": sorted(scopes)},
            "state": {"S": ACTIVE},
        }
        if rate_limit is not None:
            item.update(rate_limit.attributes())
        if expires_at is not None:
            # Not the table's TTL attribute (`expires_at`): an expired key stays listed,
            # refused, until it is revoked.
            item[_VALID_UNTIL] = {"N": str(int(expires_at))}
        self.dynamodb.put_item(
            TableName=self.views_table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        return KeyRecord(tenant_id, key_id, scopes, ACTIVE, rate_limit, expires_at), secret

    def revoke(self, tenant_id: str, key_id: str) -> KeyRecord:
        """Refuse the key at once (table), then drop its secrets from the document.

        Revoking a revoked key again only makes sure its secrets are gone.
        """
        try:
            answer = self.dynamodb.update_item(
                TableName=self.views_table,
                Key={"pk": {"S": vk.tenant_pk(tenant_id)}, "sk": {"S": vk.key_sk(key_id)}},
                UpdateExpression="SET #s = :revoked",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":revoked": {"S": REVOKED}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise UnknownKeyError(f"tenant {tenant_id} has no key {key_id}") from exc
            raise

        def drop_key(document: Document) -> None:
            _entries(document).pop(key_id, None)

        self.documents.update(self.secret_name(tenant_id), drop_key)
        return _record(tenant_id, answer["Attributes"])

    def start_rotation(self, tenant_id: str, key_id: str) -> str:
        """Give a key a pending secret; both secrets verify until the rotation ends.

        Returns the new secret (shown once). Other keys' rotations are untouched.
        """
        self._rotatable(tenant_id, key_id)
        secret = new_key_secret()

        def add_pending(document: Document) -> None:
            entry = _entries(document).get(key_id)
            if not isinstance(entry, dict) or not isinstance(entry.get("current"), str):
                raise UnknownKeyError(f"key {key_id} has no secret to rotate")
            if _pending(entry) is not None:
                raise RotationPendingError(f"key {key_id} has a rotation pending already")
            entry["pending"] = secret

        self.documents.update(self.secret_name(tenant_id), add_pending)
        return secret

    def finish_rotation(self, tenant_id: str, key_id: str) -> KeyRecord:
        """Make a key's pending secret its only one (its old secret stops verifying)."""
        record = self._rotatable(tenant_id, key_id)

        def promote(document: Document) -> None:
            entries = _entries(document)
            pending = self._pending_or_refuse(entries, key_id)
            entries[key_id] = {"current": pending}

        self.documents.update(self.secret_name(tenant_id), promote)
        return record

    def cancel_rotation(self, tenant_id: str, key_id: str) -> KeyRecord:
        """Drop a key's pending secret; its current one stays the only one."""
        record = self._rotatable(tenant_id, key_id)

        def drop_pending(document: Document) -> None:
            entries = _entries(document)
            self._pending_or_refuse(entries, key_id)
            del entries[key_id]["pending"]

        self.documents.update(self.secret_name(tenant_id), drop_pending)
        return record

    @staticmethod
    def _pending_or_refuse(entries: dict[str, Any], key_id: str) -> str:
        pending = _pending(entries.get(key_id))
        if pending is None:
            raise NoRotationPendingError(f"key {key_id} has no rotation pending")
        return pending

    def _rotatable(self, tenant_id: str, key_id: str) -> KeyRecord:
        record = self.get(tenant_id, key_id)
        if record is None:
            raise UnknownKeyError(f"tenant {tenant_id} has no key {key_id}")
        if not record.active:
            raise KeyRevokedError(f"key {key_id} is revoked")
        return record

    def _latest_entries(self, tenant_id: str) -> dict[str, Any]:
        return _entries(self.documents.read_latest(self.secret_name(tenant_id)).document)

    # --- verification (the authorizer's cached read) ----------------------------

    def secrets_for(self, tenant_id: str, key_id: str) -> builtins.list[str]:
        """The secrets a key's signatures may be made with (current, then pending).

        Callers ask only for keys the table holds as active: a key missing from the
        cached document was made since it was cached, and the document is fetched
        again (at most once a second per key id), so a new key works at once.
        """
        name = self.secret_name(tenant_id)
        entry = _entries(self.documents.read(name, max_age=self.cache_seconds)).get(key_id)
        if not isinstance(entry, dict) and self._may_refetch(key_id):
            fresh = self.documents.read(name, max_age=self.cache_seconds, refetch=True)
            entry = _entries(fresh).get(key_id)
        if not isinstance(entry, dict):
            return []
        self._refetched_at.pop(key_id, None)
        found: builtins.list[str] = []
        for value in (entry.get("current"), entry.get("pending")):
            if isinstance(value, str) and value and value not in found:
                found.append(value)
        return found

    def _may_refetch(self, key_id: str) -> bool:
        now = self._clock()
        if now - self._refetched_at.get(key_id, float("-inf")) < REFETCH_INTERVAL_SECONDS:
            return False
        self._refetched_at[key_id] = now
        return True


def _entries(document: Document) -> dict[str, Any]:
    """The document's key entries: the dict itself, for a change to edit ({} if none yet)."""
    entries = document.get("keys", {})
    if not isinstance(entries, dict):
        raise SecretDocumentError('a key document\'s "keys" must be a JSON object')
    return entries


def _pending(entry: object) -> str | None:
    if isinstance(entry, dict) and isinstance(entry.get("pending"), str):
        return str(entry["pending"])
    return None


def _record(tenant_id: str, item: Mapping[str, AttributeValueTypeDef]) -> KeyRecord:
    return KeyRecord(
        tenant_id=tenant_id,
        key_id=item["key_id"]["S"],
        scopes=frozenset(item.get("scopes", {}).get("SS", [])),
        state=item["state"]["S"],
        rate_limit=RateLimit.from_item(item),
        expires_at=int(item[_VALID_UNTIL]["N"]) if _VALID_UNTIL in item else None,
    )


def _rfc3339(unix_seconds: int) -> str:
    return rfc3339(datetime.fromtimestamp(unix_seconds, tz=UTC), "seconds")
