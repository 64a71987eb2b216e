"""Tenant API keys: metadata in the Views table, secrets in Secrets Manager.

One secret per tenant holds all its keys (`{"keys": {key_id: secret}}`): a
secret costs money per month, keys are many. During rotation the new value
sits at AWSPENDING and both AWSCURRENT and AWSPENDING verify.
"""

from __future__ import annotations

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
from formrelay.domain.ids import TENANT_ID, check
from formrelay.views import keys as vk
from formrelay.views.table import ViewsTableAdapter

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

ACTIVE = "active"
REVOKED = "revoked"


@dataclass(frozen=True)
class KeyRecord:
    """What the API knows of a key besides its secret."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]
    state: str

    @property
    def active(self) -> bool:
        """Whether requests signed with this key may pass."""
        return self.state == ACTIVE


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
        return KeyRecord(
            tenant_id=tenant_id,
            key_id=key_id,
            scopes=frozenset(item.get("scopes", {}).get("SS", [])),
            state=item["state"]["S"],
        )

    def secrets_for(self, tenant_id: str, key_id: str) -> list[str]:
        """The secrets a key's signatures may be made with (current, then pending)."""
        found = []
        for stage in ("AWSCURRENT", "AWSPENDING"):
            value = self._cached_keys(tenant_id, stage).get(key_id)
            if isinstance(value, str) and value:
                found.append(value)
        return found

    def _cached_keys(self, tenant_id: str, stage: str) -> dict[str, Any]:
        name = self.secret_name(tenant_id)
        if stage == "AWSPENDING" and self._no_pending_until.get(name, 0) > time.monotonic():
            return {}
        provider = self._provider(stage)
        try:
            document = provider.get(
                name, max_age=self.cache_seconds, transform="json", VersionStage=stage
            )
        except GetParameterError:
            if stage == "AWSPENDING":
                self._no_pending_until[name] = time.monotonic() + self.cache_seconds
            return {}
        if not isinstance(document, dict):
            return {}
        keys = document.get("keys", {})
        return keys if isinstance(keys, dict) else {}

    def _provider(self, stage: str) -> SecretsProvider:
        if stage == "AWSCURRENT":
            if self._current is None:
                self._current = SecretsProvider(boto3_client=self.secretsmanager)
            return self._current
        if self._pending is None:
            self._pending = SecretsProvider(boto3_client=self.secretsmanager)
        return self._pending

    def create(self, tenant_id: str, scopes: frozenset[str]) -> tuple[KeyRecord, str]:
        """Make a key: its secret joins the tenant's secret, its metadata the table."""
        unknown = scopes - scope_names.ALL_SCOPES
        if unknown or not scopes:
            raise ValueError(
                f"scopes must be a non-empty subset of {sorted(scope_names.ALL_SCOPES)}"
            )
        key_id, secret = new_key_id(tenant_id), new_key_secret()
        self._store_secret(tenant_id, key_id, secret)
        self.dynamodb.put_item(
            TableName=self.views_table,
            Item={
                "pk": {"S": vk.tenant_pk(tenant_id)},
                "sk": {"S": vk.key_sk(key_id)},
                "tenant_id": {"S": tenant_id},
                "key_id": {"S": key_id},
                "scopes": {"SS": sorted(scopes)},
                "state": {"S": ACTIVE},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return KeyRecord(tenant_id, key_id, scopes, ACTIVE), secret

    def _store_secret(self, tenant_id: str, key_id: str, secret: str) -> None:
        name = self.secret_name(tenant_id)
        try:
            current = self.secretsmanager.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            document: dict[str, Any] = {"keys": {key_id: secret}}
            self.secretsmanager.create_secret(Name=name, SecretString=json.dumps(document))
            return
        document = json.loads(current["SecretString"])
        document.setdefault("keys", {})[key_id] = secret
        self.secretsmanager.put_secret_value(
            SecretId=name, SecretString=json.dumps(document), VersionStages=["AWSCURRENT"]
        )
