"""Request rate limits: token buckets in the Views table, as infra/template.yaml declares it.

Given the Views table on moto and tenant/key items that may carry
`rate_per_second` and `burst`, these tests take tokens at injected times and
check what is granted, what is refused and for how long, and what is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.auth.rate_limits import KEY, TENANT, RateLimiter
from formrelay.auth.tenants import RateLimit
from formrelay.local import dynamodb_atomicity
from formrelay.local.provision import provision_table
from formrelay.local.template import load_template
from formrelay.tables import keys as vk
from tests.support.template_aws import template_aws

TABLE = "formrelay-ViewsTable"
DEFAULT = RateLimit(rate_per_second=50.0, burst=100)
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """One emulated AWS per module with the template's tables."""
    with template_aws() as provisioned:
        yield provisioned.dynamodb


@pytest.fixture
def dynamodb(aws: Any) -> Iterator[Any]:
    """The Views table, emptied after each test."""
    yield aws
    aws.delete_table(TableName=TABLE)
    provision_table("ViewsTable", TABLE, load_template()["Resources"]["ViewsTable"]["Properties"])


def limiter(dynamodb: Any, **options: Any) -> RateLimiter:
    """A function's rate limiter (each function container has its own)."""
    return RateLimiter(TABLE, dynamodb, default=options.pop("default", DEFAULT), **options)


def set_limit(dynamodb: Any, tenant_id: str, sk: str, **values: str) -> None:
    """What the tenants/keys CLI writes: numbers on the tenant or key item."""
    item = {"pk": {"S": vk.tenant_pk(tenant_id)}, "sk": {"S": sk}, "tenant_id": {"S": tenant_id}}
    item.update({name: {"N": value} for name, value in values.items()})
    dynamodb.put_item(TableName=TABLE, Item=item)


def bucket_item(dynamodb: Any, tenant_id: str, sk: str = vk.TENANT_BUCKET_SK) -> dict[str, Any]:
    return dict(
        dynamodb.get_item(
            TableName=TABLE,
            Key={"pk": {"S": vk.bucket_pk(tenant_id)}, "sk": {"S": sk}},
            ConsistentRead=True,
        ).get("Item", {})
    )


def granted(rates: RateLimiter, count: int, *, tenant: str, key: str, now: float) -> int:
    return sum(rates.take(tenant, key, now=now).allowed for _ in range(count))


def test_a_bucket_grants_its_burst_then_refuses_until_a_token_refills(dynamodb: Any) -> None:
    # Given a tenant allowed 0.2 requests/s with a burst of 3
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="0.2", burst="3")
    rates = limiter(dynamodb)
    # When its key sends 3 requests at once, then a 4th
    assert granted(rates, 3, tenant="acme", key="acme.k1", now=T0) == 3
    refused = rates.take("acme", "acme.k1", now=T0)
    # Then the 4th is refused by the tenant's limit until one token is back (1 / 0.2 = 5 s)
    assert not refused.allowed
    assert (refused.limited_by, refused.retry_after) == (TENANT, 5)
    # And 1.5 s later it is 3.5 s away, rounded up to whole seconds
    assert rates.take("acme", "acme.k1", now=T0 + 1.5).retry_after == 4


def test_a_bucket_refills_at_its_rate_and_never_above_its_burst(dynamodb: Any) -> None:
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="0.5", burst="2")
    rates = limiter(dynamodb)
    assert granted(rates, 2, tenant="acme", key="acme.k1", now=T0) == 2
    # 1.9 s later: 0.95 tokens, not enough; the wait is rounded up to at least 1 s
    almost = rates.take("acme", "acme.k1", now=T0 + 1.9)
    assert (almost.allowed, almost.retry_after) == (False, 1)
    # 2 s after draining: one token
    assert granted(rates, 2, tenant="acme", key="acme.k1", now=T0 + 2.0) == 1
    # an hour idle refills to the burst, not to 1800 tokens
    assert granted(rates, 5, tenant="acme", key="acme.k1", now=T0 + 3600) == 2


def test_a_key_with_its_own_tighter_limit_is_refused_before_its_tenant(dynamodb: Any) -> None:
    # Given a tenant with a burst of 10 and one of its keys limited to 2
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="1", burst="10")
    set_limit(dynamodb, "acme", vk.key_sk("acme.tight"), rate_per_second="0.1", burst="2")
    rates = limiter(dynamodb)
    # When the tight key sends 5 requests at once
    assert granted(rates, 2, tenant="acme", key="acme.tight", now=T0) == 2
    refused = rates.take("acme", "acme.tight", now=T0)
    # Then its own limit refuses the 3rd, and says so, with its own refill time
    assert (refused.allowed, refused.limited_by, refused.retry_after) == (False, KEY, 10)
    assert granted(rates, 2, tenant="acme", key="acme.tight", now=T0) == 0
    # And its refusals did not drain the tenant's bucket: another key gets the other 8
    assert granted(rates, 9, tenant="acme", key="acme.other", now=T0) == 8
    # A key bound by its tenant only has no bucket of its own
    assert bucket_item(dynamodb, "acme", vk.key_bucket_sk("acme.other")) == {}


def test_a_key_within_its_limit_is_still_bound_by_its_tenants(dynamodb: Any) -> None:
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="1", burst="2")
    set_limit(dynamodb, "acme", vk.key_sk("acme.loose"), rate_per_second="100", burst="50")
    rates = limiter(dynamodb)
    assert granted(rates, 2, tenant="acme", key="acme.loose", now=T0) == 2
    refused = rates.take("acme", "acme.loose", now=T0)
    assert (refused.allowed, refused.limited_by) == (False, TENANT)


def test_one_tenant_exhausting_its_bucket_leaves_another_tenant_alone(dynamodb: Any) -> None:
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="0.1", burst="2")
    set_limit(dynamodb, "globex", vk.TENANT_SK, rate_per_second="0.1", burst="2")
    rates = limiter(dynamodb)
    assert granted(rates, 10, tenant="acme", key="acme.k1", now=T0) == 2
    assert granted(rates, 2, tenant="globex", key="globex.k1", now=T0) == 2


def test_concurrent_functions_grant_exactly_the_burst(dynamodb: Any) -> None:
    # moto checks conditions, then writes, without a lock; DynamoDB does both atomically.
    dynamodb_atomicity.install()
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="0.001", burst="10")
    functions = [limiter(dynamodb) for _ in range(6)]
    grants: list[bool] = []
    start = threading.Barrier(len(functions))

    def serve(rates: RateLimiter) -> None:
        start.wait()
        decisions = [rates.take("acme", "acme.k1", now=T0).allowed for _ in range(5)]
        grants.extend(decisions)

    threads = [threading.Thread(target=serve, args=(rates,)) for rates in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # 30 requests in the same instant from six functions: racing each other never costs a
    # token and never grants one twice, so exactly the burst passes
    assert len(grants) == 30
    assert sum(grants) == 10
    stored = bucket_item(dynamodb, "acme")
    assert float(stored["tat"]["N"]) == pytest.approx(T0 + 10 * 1000)


def test_a_function_that_saw_the_bucket_idle_takes_it_busy(dynamodb: Any) -> None:
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="1", burst="3")
    first, second = limiter(dynamodb), limiter(dynamodb)
    # Both try the idle form first; the second finds the bucket busy and takes from it
    assert first.take("acme", "acme.k1", now=T0).allowed
    assert second.take("acme", "acme.k1", now=T0 + 0.5).allowed
    assert float(bucket_item(dynamodb, "acme")["tat"]["N"]) == pytest.approx(T0 + 2)
    assert second.take("acme", "acme.k1", now=T0 + 0.5).allowed
    refused = first.take("acme", "acme.k1", now=T0 + 0.5)
    assert (refused.allowed, refused.retry_after) == (False, 1)


def test_a_refused_request_writes_nothing(dynamodb: Any) -> None:
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="0.1", burst="1")
    rates = limiter(dynamodb)
    assert rates.take("acme", "acme.k1", now=T0).allowed
    before = bucket_item(dynamodb, "acme")
    assert not rates.take("acme", "acme.k1", now=T0 + 1).allowed
    assert bucket_item(dynamodb, "acme") == before


def test_a_bucket_item_names_its_tenant_and_expires_once_full_again(dynamodb: Any) -> None:
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="0.5", burst="4")
    limiter(dynamodb).take("acme", "acme.k1", now=T0)
    item = bucket_item(dynamodb, "acme")
    assert item["pk"]["S"] == "T#acme#BUCKET" and item["sk"]["S"] == "TENANT"
    assert item["tenant_id"]["S"] == "acme"
    # one token taken at 0.5/s: the bucket is full again 2 s later; TTL may only clear it after
    assert float(item["tat"]["N"]) == T0 + 2
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert int(item[ttl["AttributeName"]]["N"]) >= T0 + 2


def test_a_cleared_bucket_is_a_full_one(dynamodb: Any) -> None:
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="1", burst="2")
    rates = limiter(dynamodb)
    assert granted(rates, 2, tenant="acme", key="acme.k1", now=T0) == 2
    dynamodb.delete_item(
        TableName=TABLE, Key={"pk": {"S": "T#acme#BUCKET"}, "sk": {"S": vk.TENANT_BUCKET_SK}}
    )
    # an idle bucket that TTL cleared starts full again, exactly as if it had stayed
    assert granted(rates, 3, tenant="acme", key="acme.k1", now=T0 + 600) == 2


def test_limits_come_from_the_tenant_and_key_items_with_defaults_otherwise(dynamodb: Any) -> None:
    set_limit(dynamodb, "plain", vk.TENANT_SK)
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="2.5", burst="4")
    set_limit(dynamodb, "acme", vk.key_sk("acme.own"), rate_per_second="1", burst="7")
    set_limit(dynamodb, "acme", vk.key_sk("acme.half"), burst="7")
    set_limit(dynamodb, "acme", vk.key_sk("acme.bad"), rate_per_second="0", burst="1.5")
    rates = limiter(dynamodb)
    assert rates.limits("plain", "plain.k1", now=T0) == (DEFAULT, None)
    assert rates.limits("missing", "missing.k1", now=T0) == (DEFAULT, None)
    tenant, own = rates.limits("acme", "acme.own", now=T0)
    assert tenant == RateLimit(rate_per_second=2.5, burst=4)
    assert own == RateLimit(rate_per_second=1.0, burst=7)
    # half a limit, or values that make no limit, count as none: the tenant's alone binds
    assert rates.limits("acme", "acme.half", now=T0)[1] is None
    assert rates.limits("acme", "acme.bad", now=T0)[1] is None


def test_limits_are_cached_for_a_while(dynamodb: Any) -> None:
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="1", burst="5")
    rates = limiter(dynamodb, cache_seconds=30)
    assert rates.limits("acme", "acme.k1", now=T0)[0].burst == 5
    set_limit(dynamodb, "acme", vk.TENANT_SK, rate_per_second="1", burst="9")
    assert rates.limits("acme", "acme.k1", now=T0 + 29)[0].burst == 5
    assert rates.limits("acme", "acme.k1", now=T0 + 30)[0].burst == 9
