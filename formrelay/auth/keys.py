"""Tenant API keys: metadata in the Views table, secrets in Secrets Manager.

One secret per tenant holds all its keys (`{"keys": {key_id: secret}}`): a
secret costs money per month, keys are many. During rotation the new value
sits at AWSPENDING and both AWSCURRENT and AWSPENDING verify.

Rotation, for one key among many in the same secret:
- the AWSPENDING document is the AWSCURRENT one with the new secret of every
  key being rotated; a key "has a rotation pending" when its AWSPENDING secret
  differs from its AWSCURRENT one. Keys created meanwhile live in AWSCURRENT only.
- finishing writes AWSCURRENT with that key's new secret, then rewrites
  AWSPENDING for the keys still pending, or removes the label if none are.
Secrets Manager has no conditional write: two operators changing one tenant's
keys at the same moment can lose one change. Operators serialise by tenant.
"""

from __future__ import annotations

import builtins
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from formrelay.auth import scopes as scope_names
from formrelay.auth.tenants import RateLimit
from formrelay.domain.errors import (
    InvalidScopesError,
    KeyRevokedError,
    NoRotationPendingError,
    RotationPendingError,
    UnknownKeyError,
)
from formrelay.domain.ids import TENANT_ID, check
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient

ACTIVE = "active"
REVOKED = "revoked"
CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"


@dataclass(frozen=True)
class KeyRecord:
    """What the API knows of a key besides its secret."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]
    state: str
    rate_limit: RateLimit | None = None

    @property
    def active(self) -> bool:
        """Whether requests signed with this key may pass."""
        return self.state == ACTIVE

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
        }


@dataclass(frozen=True)
class ListedKey:
    """A key as an operator sees it: metadata, and whether a rotation is pending."""

    record: KeyRecord
    rotation_pending: bool

    def as_dict(self) -> dict[str, object]:
        """The listing as plain values (never a secret)."""
        return {**self.record.as_dict(), "rotation_pending": self.rotation_pending}


@dataclass(frozen=True)
class _SecretVersions:
    """A tenant's secret documents as stored now (read uncached, for writing)."""

    current: dict[str, str]
    pending: dict[str, str]
    pending_version_id: str | None

    def pending_keys(self) -> dict[str, str]:
        """Keys whose AWSPENDING secret is new: key id -> new secret."""
        return {
            key_id: secret
            for key_id, secret in self.pending.items()
            if key_id in self.current and self.current[key_id] != secret
        }


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
        cache_seconds: int = 30,
    ) -> None:
        super().__init__(views_table, dynamodb)
        self.secret_prefix = secret_prefix
        self._secretsmanager = secretsmanager
        self.cache_seconds = cache_seconds
        # Powertools caches by name and transform only, not by VersionStage:
        # one provider per stage keeps the two versions apart.
        self._current: SecretsProvider | None = None
        self._pending: SecretsProvider | None = None
        self._no_pending_until: dict[str, float] = {}
        # When the cached document lacks a key that the table says exists (a key made
        # since the cache was filled), it is fetched again, at most once a second.
        self._refetched_at: dict[str, float] = {}

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        """The Secrets Manager client, built on first use."""
        if self._secretsmanager is None:
            self._secretsmanager = boto3.client("secretsmanager")
        return self._secretsmanager

    def secret_name(self, tenant_id: str) -> str:
        """The Secrets Manager name of a tenant's key secrets."""
        return f"{self.secret_prefix}{tenant_id}"

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
        pending = self._versions(tenant_id).pending_keys() if records else {}
        return [ListedKey(r, r.key_id in pending) for r in records]

    def rotation_pending(self, tenant_id: str, key_id: str) -> bool:
        """Whether a key has a new secret waiting at AWSPENDING (read fresh)."""
        return key_id in self._versions(tenant_id).pending_keys()

    def revoke(self, tenant_id: str, key_id: str) -> KeyRecord:
        """Refuse the key at once (table) and drop its secret from every document.

        Revoking a revoked key again only makes sure its secret is gone.
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
        versions = self._versions(tenant_id)
        if key_id in versions.current or key_id in versions.pending:
            pending = versions.pending_keys()
            pending.pop(key_id, None)
            remaining = {k: v for k, v in versions.current.items() if k != key_id}
            self._put(tenant_id, remaining, CURRENT)
            self._put_pending(tenant_id, remaining, pending, versions.pending_version_id)
        return _record(tenant_id, answer["Attributes"])

    def start_rotation(self, tenant_id: str, key_id: str) -> str:
        """Give a key a new secret at AWSPENDING; both secrets verify until it finishes.

        Returns the new secret (shown once). Other keys' pending rotations stay.
        """
        self._rotatable(tenant_id, key_id)
        versions = self._versions(tenant_id)
        if key_id not in versions.current:
            raise UnknownKeyError(f"key {key_id} has no secret to rotate")
        pending = versions.pending_keys()
        if key_id in pending:
            raise RotationPendingError(f"key {key_id} has a rotation pending already")
        secret = new_key_secret()
        pending[key_id] = secret
        self._put_pending(tenant_id, versions.current, pending, versions.pending_version_id)
        return secret

    def finish_rotation(self, tenant_id: str, key_id: str) -> KeyRecord:
        """Make a key's pending secret its only one (its old secret stops verifying)."""
        record = self._rotatable(tenant_id, key_id)
        versions = self._versions(tenant_id)
        pending = versions.pending_keys()
        if key_id not in pending:
            raise NoRotationPendingError(f"key {key_id} has no rotation pending")
        promoted = {**versions.current, key_id: pending.pop(key_id)}
        self._put(tenant_id, promoted, CURRENT)
        self._put_pending(tenant_id, promoted, pending, versions.pending_version_id)
        return record

    def cancel_rotation(self, tenant_id: str, key_id: str) -> KeyRecord:
        """Drop a key's pending secret; its current one stays the only one."""
        record = self._rotatable(tenant_id, key_id)
        versions = self._versions(tenant_id)
        pending = versions.pending_keys()
        if key_id not in pending:
            raise NoRotationPendingError(f"key {key_id} has no rotation pending")
        del pending[key_id]
        self._put_pending(tenant_id, versions.current, pending, versions.pending_version_id)
        return record

    def _rotatable(self, tenant_id: str, key_id: str) -> KeyRecord:
        record = self.get(tenant_id, key_id)
        if record is None:
            raise UnknownKeyError(f"tenant {tenant_id} has no key {key_id}")
        if not record.active:
            raise KeyRevokedError(f"key {key_id} is revoked")
        return record

    def _versions(self, tenant_id: str) -> _SecretVersions:
        current, _ = self._read(tenant_id, CURRENT)
        pending, pending_version_id = self._read(tenant_id, PENDING)
        return _SecretVersions(current, pending, pending_version_id)

    def _read(self, tenant_id: str, stage: str) -> tuple[dict[str, str], str | None]:
        """One stage's key secrets and version id, uncached ({} and None if absent)."""
        try:
            answer = self.secretsmanager.get_secret_value(
                SecretId=self.secret_name(tenant_id), VersionStage=stage
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return {}, None
            raise
        keys = json.loads(answer["SecretString"]).get("keys", {})
        return dict(keys), answer["VersionId"]

    def _put(self, tenant_id: str, keys: Mapping[str, str], stage: str) -> None:
        self.secretsmanager.put_secret_value(
            SecretId=self.secret_name(tenant_id),
            SecretString=json.dumps({"keys": dict(keys)}),
            VersionStages=[stage],
        )

    def _put_pending(
        self,
        tenant_id: str,
        current: Mapping[str, str],
        pending: Mapping[str, str],
        pending_version_id: str | None,
    ) -> None:
        """AWSPENDING = current with the pending keys' new secrets; no label if none pend."""
        if pending:
            self._put(tenant_id, {**current, **pending}, PENDING)
        elif pending_version_id is not None:
            self.secretsmanager.update_secret_version_stage(
                SecretId=self.secret_name(tenant_id),
                VersionStage=PENDING,
                RemoveFromVersionId=pending_version_id,
            )

    def secrets_for(self, tenant_id: str, key_id: str) -> builtins.list[str]:
        """The secrets a key's signatures may be made with (current, then pending).

        Callers ask only for keys the table holds as active: a key missing from the
        cached document was made since it was cached, and the document is fetched
        again (at most once a second per tenant), so a new key works at once.
        """
        current = self._cached_keys(tenant_id, CURRENT)
        if key_id not in current and self._may_refetch(tenant_id):
            current = self._cached_keys(tenant_id, CURRENT, refetch=True)
        found: list[str] = []
        for value in (current.get(key_id), self._cached_keys(tenant_id, PENDING).get(key_id)):
            if isinstance(value, str) and value and value not in found:
                found.append(value)
        return found

    def _may_refetch(self, tenant_id: str) -> bool:
        now = time.monotonic()
        if now - self._refetched_at.get(tenant_id, float("-inf")) < 1.0:
            return False
        self._refetched_at[tenant_id] = now
        return True

    def _cached_keys(self, tenant_id: str, stage: str, *, refetch: bool = False) -> dict[str, Any]:
        name = self.secret_name(tenant_id)
        if stage == PENDING and self._no_pending_until.get(name, 0) > time.monotonic():
            return {}
        provider = self._provider(stage)
        try:
            document = provider.get(
                name,
                max_age=self.cache_seconds,
                transform="json",
                force_fetch=refetch,
                VersionStage=stage,
            )
        except GetParameterError:
            if stage == PENDING:
                self._no_pending_until[name] = time.monotonic() + self.cache_seconds
            return {}
        if not isinstance(document, dict):
            return {}
        keys = document.get("keys", {})
        return keys if isinstance(keys, dict) else {}

    def _provider(self, stage: str) -> SecretsProvider:
        if stage == CURRENT:
            if self._current is None:
                self._current = SecretsProvider(boto3_client=self.secretsmanager)
            return self._current
        if self._pending is None:
            self._pending = SecretsProvider(boto3_client=self.secretsmanager)
        return self._pending

    def create(
        self, tenant_id: str, scopes: frozenset[str], rate_limit: RateLimit | None = None
    ) -> tuple[KeyRecord, str]:
        """Make a key: its secret joins the tenant's secret, its metadata the table.

        rate_limit: this key's own limit, written on the key item (None: none).
        """
        unknown = scopes - scope_names.ALL_SCOPES
        if unknown or not scopes:
            raise InvalidScopesError(
                f"scopes must be a non-empty subset of {sorted(scope_names.ALL_SCOPES)}"
            )
        key_id, secret = new_key_id(tenant_id), new_key_secret()
        self._store_secret(tenant_id, key_id, secret)
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
        self.dynamodb.put_item(
            TableName=self.views_table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        return KeyRecord(tenant_id, key_id, scopes, ACTIVE, rate_limit), secret

    def _store_secret(self, tenant_id: str, key_id: str, secret: str) -> None:
        name = self.secret_name(tenant_id)
        try:
            current = self.secretsmanager.get_secret_value(SecretId=name, VersionStage=CURRENT)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            document: dict[str, Any] = {"keys": {key_id: secret}}
            self.secretsmanager.create_secret(Name=name, SecretString=json.dumps(document))
            return
        document = json.loads(current["SecretString"])
        document.setdefault("keys", {})[key_id] = secret
        self.secretsmanager.put_secret_value(
            SecretId=name, SecretString=json.dumps(document), VersionStages=[CURRENT]
        )


def _record(tenant_id: str, item: Mapping[str, AttributeValueTypeDef]) -> KeyRecord:
    return KeyRecord(
        tenant_id=tenant_id,
        key_id=item["key_id"]["S"],
        scopes=frozenset(item.get("scopes", {}).get("SS", [])),
        state=item["state"]["S"],
        rate_limit=RateLimit.from_item(item),
    )
