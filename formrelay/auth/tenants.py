"""Tenants: who may hold keys, and the request rate each tenant (or key) is allowed.

A tenant is one item (pk `T#{tenant}`, sk `TENANT`). Its optional rate limit is
two numeric attributes, `rate_per_second` and `burst`; a key item may carry the
same two. The rate limiter reads exactly these names; this module only writes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from formrelay.domain.errors import InvalidRateLimitError, TenantExistsError, UnknownTenantError
from formrelay.domain.ids import TENANT_ID, check
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

RATE_ATTRIBUTE = "rate_per_second"
BURST_ATTRIBUTE = "burst"
MAX_RATE_PER_SECOND = 100_000.0
MAX_BURST = 1_000_000


@dataclass(frozen=True)
class RateLimit:
    """A token bucket's settings: refilled at rate_per_second, holding at most burst."""

    rate_per_second: float
    burst: int

    def __post_init__(self) -> None:
        try:
            rate = float(self.rate_per_second)
        except (TypeError, ValueError) as exc:
            raise InvalidRateLimitError(f"rate per second {self.rate_per_second!r}") from exc
        object.__setattr__(self, "rate_per_second", rate)  # 5 and 5.0 are the same limit
        if not (math.isfinite(rate) and 0 < rate <= MAX_RATE_PER_SECOND):
            raise InvalidRateLimitError(
                f"rate per second must be above 0 and at most {MAX_RATE_PER_SECOND:g}, got {rate}"
            )
        if not isinstance(self.burst, int) or isinstance(self.burst, bool):
            raise InvalidRateLimitError(f"burst must be a whole number, got {self.burst!r}")
        if not 1 <= self.burst <= MAX_BURST:
            raise InvalidRateLimitError(
                f"burst must be a whole number from 1 to {MAX_BURST}, got {self.burst}"
            )

    @classmethod
    def of(cls, rate_per_second: float | None, burst: int | None) -> RateLimit | None:
        """A limit from optional parts: both or neither (a bucket needs both)."""
        if rate_per_second is None and burst is None:
            return None
        if rate_per_second is None or burst is None:
            raise InvalidRateLimitError("give both a rate per second and a burst, or neither")
        return cls(rate_per_second, burst)

    def attributes(self) -> dict[str, AttributeValueTypeDef]:
        """The limit as the item attributes the rate limiter reads."""
        return {
            RATE_ATTRIBUTE: {"N": _number(self.rate_per_second)},
            BURST_ATTRIBUTE: {"N": str(self.burst)},
        }

    @classmethod
    def from_item(cls, item: Mapping[str, AttributeValueTypeDef]) -> RateLimit | None:
        """The limit a tenant or key item carries, or None if it carries none."""
        rate, burst = item.get(RATE_ATTRIBUTE), item.get(BURST_ATTRIBUTE)
        if rate is None or burst is None:
            return None
        try:
            return cls(float(rate["N"]), int(Decimal(burst["N"])))
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise InvalidRateLimitError(f"stored rate limit is malformed: {exc}") from exc

    def as_dict(self) -> dict[str, float | int]:
        """The limit under the attribute names."""
        return {RATE_ATTRIBUTE: self.rate_per_second, BURST_ATTRIBUTE: self.burst}


def _number(value: float) -> str:
    """A DynamoDB number: 10.0 -> '10', 0.5 -> '0.5'."""
    return str(int(value)) if value.is_integer() else repr(value)


@dataclass(frozen=True)
class Tenant:
    """A tenant as recorded: its id, display name and optional rate limit."""

    tenant_id: str
    name: str
    rate_limit: RateLimit | None = None

    def as_dict(self) -> dict[str, object]:
        """The tenant as plain values (limits null when unset)."""
        limit = self.rate_limit
        return {
            "tenant_id": self.tenant_id,
            "name": self.name,
            RATE_ATTRIBUTE: limit.rate_per_second if limit else None,
            BURST_ATTRIBUTE: limit.burst if limit else None,
        }


class TenantDirectory(ViewsTableAdapter):
    """Reads and writes tenant items in the Views table."""

    def create(
        self,
        tenant_id: str,
        name: str,
        rate_per_second: float | None = None,
        burst: int | None = None,
    ) -> Tenant:
        """Record a new tenant.

        Creating the same tenant again with the same name and limits is a no-op
        (retries and re-seeding are safe); with anything different it raises
        TenantExistsError and changes nothing: limits change through set_limits.
        """
        check(TENANT_ID, tenant_id, "tenant id")
        wanted = Tenant(tenant_id, name, RateLimit.of(rate_per_second, burst))
        item: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": vk.tenant_pk(tenant_id)},
            "sk": {"S": vk.TENANT_SK},
            "tenant_id": {"S": tenant_id},
            "name": {"S": name},
        }
        if wanted.rate_limit is not None:
            item.update(wanted.rate_limit.attributes())
        try:
            self.dynamodb.put_item(
                TableName=self.views_table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            existing = self.get(tenant_id)
            if existing != wanted:
                raise TenantExistsError(
                    f"tenant {tenant_id} exists already with other settings: {existing}"
                ) from exc
        # Its entry in the directory of tenants, after the tenant: creating it again (a
        # retry after a failure here, or re-seeding) writes the entry a tenant lacks.
        self.dynamodb.put_item(
            TableName=self.views_table,
            Item={
                "pk": {"S": vk.TENANTS_PK},
                "sk": {"S": tenant_id},
                "tenant_id": {"S": tenant_id},
            },
        )
        return wanted

    def ids(self) -> list[str]:
        """Every tenant's id, in order, from the directory of tenants (one partition's query)."""
        found: list[str] = []
        arguments: dict[str, Any] = {
            "TableName": self.views_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": vk.TENANTS_PK}},
            "ProjectionExpression": "tenant_id",
        }
        while True:
            answer = self.dynamodb.query(**arguments)
            found += [item["tenant_id"]["S"] for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                return found
            arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def get(self, tenant_id: str) -> Tenant | None:
        """A tenant, or None if none is recorded under this id."""
        check(TENANT_ID, tenant_id, "tenant id")
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key={"pk": {"S": vk.tenant_pk(tenant_id)}, "sk": {"S": vk.TENANT_SK}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return _tenant(item)

    def set_limits(self, tenant_id: str, rate_per_second: float, burst: int) -> Tenant:
        """Set (or replace) a tenant's rate limit; UnknownTenantError if there is no tenant."""
        check(TENANT_ID, tenant_id, "tenant id")
        limit = RateLimit(rate_per_second, burst)
        values = limit.attributes()
        try:
            answer = self.dynamodb.update_item(
                TableName=self.views_table,
                Key={"pk": {"S": vk.tenant_pk(tenant_id)}, "sk": {"S": vk.TENANT_SK}},
                UpdateExpression="SET #r = :r, #b = :b",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#r": RATE_ATTRIBUTE, "#b": BURST_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":r": values[RATE_ATTRIBUTE],
                    ":b": values[BURST_ATTRIBUTE],
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise UnknownTenantError(f"no tenant {tenant_id}") from exc
            raise
        return _tenant(answer["Attributes"])


def _tenant(item: Mapping[str, AttributeValueTypeDef]) -> Tenant:
    tenant_id = item["tenant_id"]["S"]
    return Tenant(
        tenant_id=tenant_id,
        name=item.get("name", {}).get("S", tenant_id),
        rate_limit=RateLimit.from_item(item),
    )
