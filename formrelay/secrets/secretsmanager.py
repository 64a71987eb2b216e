"""Secret documents in AWS Secrets Manager: one secret per document, compare-and-swap on AWSCURRENT.

Secrets Manager has no conditional put, but it has a conditional label move:
a write puts the new document under a staging label of its own (invisible to
readers, who always ask for AWSCURRENT), then moves AWSCURRENT to it *from the
version that was read*; update_secret_version_stage refuses when AWSCURRENT has
moved on since, and the port then reads again and reapplies the change. The
first write of a document is create_secret, which refuses when a rival created
it first.

Cached reads go through Powertools' SecretsProvider. It caches by name and
transform only, never by VersionStage, so every read here names AWSCURRENT
(moto also answers stale values to a read without a stage).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.secrets.port import (
    Document,
    SecretDocumentError,
    SecretDocuments,
    VersionMovedError,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from mypy_boto3_secretsmanager import SecretsManagerClient

CURRENT = "AWSCURRENT"
# Where a write puts its new version before AWSCURRENT is moved to it.
STAGED = "FORMRELAY_STAGED"
_NOT_FOUND = "ResourceNotFoundException"
# Powertools keeps each value this long: when to fetch again is the port's decision.
_POWERTOOLS_MAX_AGE = 10 * 365 * 86400
# What Secrets Manager answers when the swap's premise no longer holds: the label
# is no longer on the version read, or a rival created the secret first.
_LOST_RACE = ("InvalidParameterException", "ResourceExistsException")


class SecretsManagerDocuments(SecretDocuments):
    """Documents as Secrets Manager secrets, one JSON object each."""

    def __init__(self, secretsmanager: SecretsManagerClient | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._secretsmanager = secretsmanager
        self._provider: SecretsProvider | None = None

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        """The Secrets Manager client, built on first use."""
        if self._secretsmanager is None:
            import boto3  # loads on the first client, not at import

            self._secretsmanager = boto3.client("secretsmanager")
        return self._secretsmanager

    @property
    def provider(self) -> SecretsProvider:
        """The caching reader, built on first use."""
        if self._provider is None:
            # Powertools Parameters loads on the first read: importing it costs every
            # function's cold start, the authorizer's above all.
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._provider = SecretsProvider(boto3_client=self.secretsmanager)
        return self._provider

    def _read_cached(self, name: str, *, force: bool) -> object | None:
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        try:
            return self.provider.get(
                name,
                max_age=_POWERTOOLS_MAX_AGE,
                transform="json",
                force_fetch=force,
                VersionStage=CURRENT,
            )
        except GetParameterError as exc:
            if _error_code(exc.__cause__ or exc.__context__) == _NOT_FOUND:
                return None
            raise SecretDocumentError(f"cannot read secret {name}") from exc
        except TransformParameterError as exc:
            raise SecretDocumentError(f"secret {name} does not hold JSON") from exc

    def _read_latest(self, name: str) -> tuple[object, str] | None:
        try:
            answer = self.secretsmanager.get_secret_value(SecretId=name, VersionStage=CURRENT)
        except ClientError as exc:
            if _error_code(exc) == _NOT_FOUND:
                return None
            raise
        try:
            document = json.loads(answer["SecretString"])
        except (KeyError, ValueError) as exc:
            raise SecretDocumentError(f"secret {name} does not hold JSON") from exc
        return document, answer["VersionId"]

    def _swap(self, name: str, document: Document, version: str | None) -> None:
        text = json.dumps(document, sort_keys=True)
        try:
            if version is None:
                self.secretsmanager.create_secret(Name=name, SecretString=text)
                return
            staged = self.secretsmanager.put_secret_value(
                SecretId=name, SecretString=text, VersionStages=[STAGED]
            )
            self.secretsmanager.update_secret_version_stage(
                SecretId=name,
                VersionStage=CURRENT,
                MoveToVersionId=staged["VersionId"],
                RemoveFromVersionId=version,
            )
        except ClientError as exc:
            if _error_code(exc) in _LOST_RACE:
                raise VersionMovedError(name) from exc
            raise


def _error_code(exc: BaseException | None) -> str | None:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None
