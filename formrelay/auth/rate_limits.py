"""Request rate limits: a token bucket per tenant, and per key that has a limit of its own.

A bucket holds up to `burst` tokens and refills at `rate_per_second`; every request
takes one token from its key's bucket (if the key has a limit of its own) and
then from its tenant's. Each bucket is one item in the Views table, shared by
every function that serves the tenant:

    pk  T#{tenant}#BUCKET   sk  TENANT | KEY#{key_id}
    tenant_id  S   tokens  N   updated_at  N (unix seconds)
    version    N   expires_at  N (unix seconds, the table's TTL attribute)

Taking a token reads the bucket (consistently), refills it by the time
elapsed, and writes it back on condition that nobody wrote it in between
(its `version` and `updated_at` unchanged, or no item for a new bucket):
concurrent functions can lose a race but never grant the same token twice.
A lost race answers the winner's item (ReturnValuesOnConditionCheckFailure),
so a retry needs no second read.

A refused request writes nothing: refill is a function of time, there is
nothing to record. `expires_at` is when the bucket will be full again (plus a
margin): an absent bucket is a full one, so DynamoDB TTL deleting an idle
bucket gives nobody more than waiting would have.

Limits come from the tenant item and the key item (`rate_per_second` and
`burst`, both or neither: `formrelay.auth.tenants.RateLimit`), read once per
`cache_seconds` per function; a tenant that sets none has the default, a key
that sets none is bound by its tenant's only.

Powertools has no rate limiter to reuse, hence this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.auth.tenants import RateLimit
from formrelay.domain.errors import InvalidRateLimitError
from formrelay.views import keys as vk
from formrelay.views.table import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TENANT = "tenant"
KEY = "key"

# Seconds an idle bucket outlives the moment it is full again, before TTL may delete it.
_EXPIRY_MARGIN_SECONDS = 600
# Limits cached per function: more distinct tenants and keys than this and the cache starts over.
_MAX_CACHED_LIMITS = 10_000


@dataclass(frozen=True)
class Bucket:
    """A bucket's state as stored; version 0 is a bucket with no item yet."""

    tokens: float
    updated_at: float
    version: int

    @classmethod
    def full(cls, limit: RateLimit, now: float) -> Bucket:
        """A bucket nobody has taken from (or that TTL cleared)."""
        return cls(tokens=float(limit.burst), updated_at=now, version=0)

    def refilled(self, limit: RateLimit, now: float) -> Bucket:
        """The bucket at `now`: refilled by the time elapsed, never above burst.

        A clock behind the one that last wrote refills nothing (and never drains).
        """
        elapsed = max(0.0, now - self.updated_at)
        tokens = min(float(limit.burst), self.tokens + elapsed * limit.rate_per_second)
        return replace(self, tokens=tokens, updated_at=max(now, self.updated_at))

    def seconds_until_token(self, limit: RateLimit) -> float:
        """How long until one whole token is there."""
        return max(0.0, (1.0 - self.tokens) / limit.rate_per_second)

    def seconds_until_full(self, limit: RateLimit) -> float:
        """How long until the bucket is full again."""
        return max(0.0, (limit.burst - self.tokens) / limit.rate_per_second)


@dataclass(frozen=True)
class Decision:
    """Whether a request may pass; if not, which limit refused it and when to retry."""

    allowed: bool
    retry_after: int = 0  # whole seconds, at least 1 when refused
    limited_by: str = ""  # TENANT or KEY when refused
    contended: bool = False  # refused because the bucket stayed contended, not because empty


GRANTED = Decision(allowed=True)


def retry_after_seconds(seconds: float) -> int:
    """Whole seconds for a Retry-After header: rounded up, at least 1."""
    # The tolerance keeps float noise (5.000000000001) from adding a whole second.
    return max(1, math.ceil(seconds - 1e-9))


class RateLimiter(ViewsTableAdapter):
    """Takes one token per request from the caller's buckets in the Views table."""

    def __init__(
        self,
        views_table: str,
        dynamodb: DynamoDBClient | None = None,
        *,
        default: RateLimit,
        cache_seconds: float = 30,
        attempts: int = 4,
    ) -> None:
        super().__init__(views_table, dynamodb)
        self.default = default
        self.cache_seconds = cache_seconds
        self.attempts = attempts
        # (pk, sk) of a tenant or key item -> (valid until, its limit or None)
        self._limits: dict[tuple[str, str], tuple[float, RateLimit | None]] = {}

    def take(self, tenant_id: str, key_id: str, *, now: float) -> Decision:
        """Take a token for one request of this key, or say why not and for how long."""
        tenant_limit, key_limit = self.limits(tenant_id, key_id, now=now)
        if key_limit is not None:
            # The key's own bucket first: a key over its limit must not drain the
            # bucket its tenant's other keys share. If the tenant's then refuses,
            # the key's token is spent all the same (never more than allowed).
            decision = self._take_one(
                tenant_id, vk.key_bucket_sk(key_id), key_limit, now, limited_by=KEY
            )
            if not decision.allowed:
                return decision
        return self._take_one(tenant_id, vk.TENANT_BUCKET_SK, tenant_limit, now, limited_by=TENANT)

    def limits(
        self, tenant_id: str, key_id: str, *, now: float
    ) -> tuple[RateLimit, RateLimit | None]:
        """The tenant's limit and the key's own (None: the key is bound by its tenant's only)."""
        pk = vk.tenant_pk(tenant_id)
        tenant = self._cached_limit(pk, vk.TENANT_SK, now) or self.default
        return tenant, self._cached_limit(pk, vk.key_sk(key_id), now)

    def _take_one(
        self, tenant_id: str, sk: str, limit: RateLimit, now: float, *, limited_by: str
    ) -> Decision:
        pk = vk.bucket_pk(tenant_id)
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=True,
        ).get("Item")
        stored = _bucket_of(item, limit, now)
        for _ in range(self.attempts):
            current = stored.refilled(limit, now)
            if current.tokens < 1.0:
                wait = retry_after_seconds(current.seconds_until_token(limit))
                return Decision(allowed=False, retry_after=wait, limited_by=limited_by)
            taken = replace(current, tokens=current.tokens - 1.0, version=stored.version + 1)
            try:
                self._write(pk, sk, tenant_id, taken, limit, expected=stored)
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
                winner = exc.response.get("Item")  # the item that won the race, if any
                stored = _bucket_of(winner if isinstance(winner, dict) else None, limit, now)
                continue
            return GRANTED
        # Still contended after every attempt: other functions are taking this
        # bucket's tokens at this very moment, so its caller is sending at least
        # that fast. Fail closed: refusing a request that is racing others for
        # the last tokens is what the limit is for, and granting it unchecked is
        # exactly the over-grant the conditions exist to prevent. The caller
        # retries in a second.
        return Decision(allowed=False, retry_after=1, limited_by=limited_by, contended=True)

    def _write(
        self,
        pk: str,
        sk: str,
        tenant_id: str,
        bucket: Bucket,
        limit: RateLimit,
        *,
        expected: Bucket,
    ) -> None:
        expires_at = bucket.updated_at + bucket.seconds_until_full(limit) + _EXPIRY_MARGIN_SECONDS
        condition: dict[str, Any]
        if expected.version == 0:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            # updated_at too: a bucket TTL cleared and another function created
            # anew restarts its versions, but not at the same instant.
            condition = {
                "ConditionExpression": "#version = :version AND updated_at = :updated_at",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {
                    ":version": {"N": str(expected.version)},
                    ":updated_at": {"N": repr(expected.updated_at)},
                },
            }
        self.dynamodb.put_item(
            TableName=self.views_table,
            Item={
                "pk": {"S": pk},
                "sk": {"S": sk},
                "tenant_id": {"S": tenant_id},
                "tokens": {"N": repr(bucket.tokens)},
                "updated_at": {"N": repr(bucket.updated_at)},
                "version": {"N": str(bucket.version)},
                "expires_at": {"N": str(math.ceil(expires_at))},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **condition,
        )

    def _cached_limit(self, pk: str, sk: str, now: float) -> RateLimit | None:
        cached = self._limits.get((pk, sk))
        if cached is not None and now < cached[0]:
            return cached[1]
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ProjectionExpression="#rate, #burst",
            ExpressionAttributeNames={"#rate": "rate_per_second", "#burst": "burst"},
        ).get("Item")
        limit = limit_of(item or {})
        if len(self._limits) >= _MAX_CACHED_LIMITS:
            self._limits.clear()
        self._limits[(pk, sk)] = (now + self.cache_seconds, limit)
        return limit


def limit_of(item: dict[str, Any]) -> RateLimit | None:
    """The limit a tenant or key item sets; None if it sets none, or only half of one, or a
    malformed one (the operator tools write both parts, validated)."""
    try:
        return RateLimit.from_item(item)
    except InvalidRateLimitError:
        return None


def _bucket_of(item: dict[str, Any] | None, limit: RateLimit, now: float) -> Bucket:
    """The stored bucket, or a full one if there is no item."""
    if not item:
        return Bucket.full(limit, now)
    return Bucket(
        tokens=float(item["tokens"]["N"]),
        updated_at=float(item["updated_at"]["N"]),
        version=int(item["version"]["N"]),
    )
