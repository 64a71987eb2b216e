"""A tenant over its request rate gets 429 with Retry-After over HTTP; other tenants do not.

A stack of its own: the session stack's demo tenant must not be throttled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningStack, running_stack

CONTACT = {"email": "ada@example.com", "name": "Ada"}
RATE, BURST = 0.2, 3


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack whose demo tenant may send 3 requests at once, then one per 5 s."""
    with pytest.MonkeyPatch.context() as env:
        # Functions re-read limits on every request: no wait for a cached default to expire.
        env.setenv("RATE_LIMIT_CACHE_SECONDS", "0")
        with running_stack(tmp_path_factory.mktemp("formrelay-rate")) as stack:
            stack.dynamodb().update_item(
                TableName=stack.table("ViewsTable"),
                Key={"pk": {"S": "T#demo"}, "sk": {"S": "TENANT"}},
                UpdateExpression="SET rate_per_second = :rate, burst = :burst",
                ExpressionAttributeValues={":rate": {"N": str(RATE)}, ":burst": {"N": str(BURST)}},
            )
            yield stack


def test_requests_beyond_the_burst_get_429_with_retry_after(limited: RunningStack) -> None:
    client = limited.client()
    before = limited.received_submissions()
    started = time.monotonic()
    answers = [client.submit("contact", CONTACT) for _ in range(BURST + 3)]
    elapsed = time.monotonic() - started

    statuses = [answer.status_code for answer in answers]
    accepted = statuses.count(202)
    # the burst passes; beyond it only what refilled meanwhile (one token per 5 s)
    assert set(statuses) == {202, 429}, [a.text for a in answers]
    assert BURST <= accepted <= BURST + int(elapsed * RATE)
    refused = answers[statuses.index(429)]
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "https://formrelay.dev/problems/rate-limited"
    assert (problem["status"], problem["title"]) == (429, "Too many requests")
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 1 / RATE
    assert f"retry after {retry_after} s" in problem["detail"]
    # a refused submission is not on record
    assert limited.received_submissions() == before + accepted

    # every route shares the tenant's bucket
    assert client.status("01900000-0000-7000-8000-000000000000").status_code == 429

    # and Retry-After is honest: after that long a request passes again
    time.sleep(retry_after)
    assert client.submit("contact", CONTACT).status_code == 202


def test_another_tenant_is_not_throttled(limited: RunningStack) -> None:
    acme = limited.seed_second_tenant()
    client = limited.client(acme["key_id"], acme["secret"])
    # the demo tenant is over its limit ...
    demo = limited.client()
    assert 429 in [demo.submit("contact", CONTACT).status_code for _ in range(BURST + 1)]
    # ... while acme, on the default limit, sends more than the demo tenant's burst
    statuses = [client.submit("contact", {"topic": "hello"}).status_code for _ in range(BURST + 3)]
    assert statuses == [202] * (BURST + 3)
