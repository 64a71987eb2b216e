"""Request rate limits: a token bucket per tenant, and per key that has a limit of its own.

A bucket holds up to `burst` tokens and refills at `rate_per_second`; every request
takes one token from its key's bucket (if the key has a limit of its own) and
then from its tenant's. Each bucket is one item in the Views table, shared by
every function that serves the tenant:

    pk  T#{tenant}#BUCKET   sk  TENANT | KEY#{key_id}
    tenant_id  S   tat  N (unix seconds)   expires_at  N (the table's TTL attribute)

The bucket is kept as GCRA keeps it (the generic cell rate algorithm): one
number, the theoretical arrival time `tat`, the moment the bucket will be full
again. With interval = 1 / rate and capacity = burst * interval, a request at
`now` may pass if max(tat, now) + interval <= now + capacity, and then moves
tat to max(tat, now) + interval. That is exactly a token bucket, and it needs
no read: each take is one conditional UpdateItem whose arithmetic DynamoDB does
(`SET tat = tat + :interval` on condition `tat <= :ceiling`), so any number of
concurrent functions take tokens without ever losing a race to each other or
granting a token twice. Only the step from an idle bucket (tat in the past, or
no item) to a busy one needs a second form (`SET tat = :now + :interval` on
condition tat < now); a failed condition answers the stored tat
(ReturnValuesOnConditionCheckFailure), which says which form to try next, or
how long the caller must wait.

A refused request writes nothing. `expires_at` is past the moment the bucket is
full again: an absent bucket is a full one, so DynamoDB TTL deleting an idle
bucket gives nobody more than waiting would have.

Limits come from the tenant item and the key item (`rate_per_second` and
`burst`, both or neither: `formrelay.auth.tenants.RateLimit`), read once per
`cache_seconds` per function; a tenant that sets none has the default, a key
that sets none is bound by its tenant's only.

Powertools has no rate limiter to reuse, hence this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.auth.tenants import RateLimit
from formrelay.domain.errors import InvalidRateLimitError
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TENANT = "tenant"
KEY = "key"

# Seconds an idle bucket outlives the moment it is full again, before TTL may delete it.
_EXPIRY_MARGIN_SECONDS = 600
# Limits cached per function: more distinct tenants and keys than this and the cache starts over.
_MAX_CACHED_LIMITS = 10_000


@dataclass(frozen=True)
class Decision:
    """Whether a request may pass; if not, which limit refused it and when to retry."""

    allowed: bool
    retry_after: int = 0  # whole seconds, at least 1 when refused
    limited_by: str = ""  # TENANT or KEY when refused


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
    ) -> None:
        super().__init__(views_table, dynamodb)
        self.default = default
        self.cache_seconds = cache_seconds
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
        interval = 1.0 / limit.rate_per_second
        # The latest tat a take may start from: past it, the bucket has no whole token.
        ceiling = now + limit.burst * interval - interval
        key = {"pk": {"S": vk.bucket_pk(tenant_id)}, "sk": {"S": sk}}
        expires_at = {"N": str(math.ceil(now + limit.burst * interval + _EXPIRY_MARGIN_SECONDS))}
        busy = False  # most buckets are idle: try the idle form first
        for _ in range(3):  # idle -> busy -> (TTL cleared it meanwhile) idle at most
            if busy:
                update = "SET tat = tat + :interval, expires_at = :expires"
                condition = "tat >= :now AND tat <= :ceiling"
                values = {":interval": _n(interval), ":now": _n(now), ":ceiling": _n(ceiling)}
            else:
                update = "SET tat = :tat, tenant_id = :tenant, expires_at = :expires"
                condition = "attribute_not_exists(tat) OR tat < :now"
                values = {":tat": _n(now + interval), ":now": _n(now), ":tenant": {"S": tenant_id}}
            try:
                self.dynamodb.update_item(
                    TableName=self.views_table,
                    Key=key,
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeValues={**values, ":expires": expires_at},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
                stored = exc.response.get("Item", {}).get("tat", {}).get("N")  # type: ignore[attr-defined]
                tat = float(stored) if stored is not None else None
                if tat is not None and tat > ceiling:
                    wait = retry_after_seconds(tat - ceiling)
                    return Decision(allowed=False, retry_after=wait, limited_by=limited_by)
                busy = tat is not None and tat >= now
                continue
            return GRANTED
        # Unreachable unless the bucket flips between idle and busy on every try (TTL
        # deleting it twice within one request): refuse for a second rather than guess.
        return Decision(allowed=False, retry_after=1, limited_by=limited_by)

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


def _n(value: float) -> dict[str, str]:
    """A DynamoDB number, to the microsecond (no exponent notation)."""
    return {"N": format(value, ".6f")}
