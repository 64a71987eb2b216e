"""The authorizer's use case on moto: signature, window, nonce, key state and scope.

Given the Views table the template declares and a tenant key in Secrets Manager,
`authorize` passes a well-signed, fresh, first-seen request of a key that holds the
route's scope, and refuses everything else with AccessDeniedError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from formrelay.auth import scopes
from formrelay.auth.authorize import AccessDeniedError, AuthorizationRequest, authorize
from formrelay.auth.keys import KeyDirectory
from formrelay.auth.nonces import NonceStore
from formrelay.auth.signing import sign_request
from formrelay.tables import keys as vk
from tests.support.template_aws import TemplateAws, template_aws

ROUTE = "GET /v1/submissions/{submission_id}"
PATH = "/v1/submissions/abc"
WINDOW = 300
T0 = 1_800_000_000


@dataclass
class Directory:
    """The key directory and nonce store over one Views table."""

    keys: KeyDirectory
    nonces: NonceStore
    aws: TemplateAws

    def request(
        self, key_id: str, secret: str, *, at: int = T0, nonce: str | None = None
    ) -> AuthorizationRequest:
        headers = sign_request(
            key_id=key_id, secret=secret, method="GET", path=PATH, timestamp=at, nonce=nonce
        )
        return AuthorizationRequest(ROUTE, "GET", PATH, "", headers)

    def authorize(self, request: AuthorizationRequest, *, now: float = T0) -> str:
        return authorize(
            request, keys=self.keys, nonces=self.nonces, now=now, window_seconds=WINDOW
        ).tenant_id


@pytest.fixture
def directory() -> Iterator[Directory]:
    with template_aws() as aws:
        yield Directory(
            KeyDirectory(
                aws.views_table,
                "formrelay/tenants/",
                dynamodb=aws.dynamodb,
                secretsmanager=aws.secretsmanager,
                cache_seconds=0,
            ),
            NonceStore(aws.views_table, aws.dynamodb),
            aws,
        )


def test_a_fresh_request_passes_and_its_replay_does_not(directory: Directory) -> None:
    key, secret = directory.keys.create("acme", frozenset({scopes.READ}))
    request = directory.request(key.key_id, secret)

    assert directory.authorize(request) == "acme"
    with pytest.raises(AccessDeniedError):
        directory.authorize(request, now=T0 + 1)


def test_a_replay_is_refused_after_the_window_although_its_nonce_record_survives(
    directory: Directory,
) -> None:
    # DynamoDB TTL deletes days late: the nonce item is still there, expired. The expiry
    # makes it claimable again, and the timestamp window refuses the replay instead.
    key, secret = directory.keys.create("acme", frozenset({scopes.READ}))
    request = directory.request(key.key_id, secret, at=T0 + WINDOW)  # signed as late as allowed
    directory.authorize(request)

    for later in (T0 + 2 * WINDOW + 1, T0 + 86_400):
        with pytest.raises(AccessDeniedError, match="window"):
            directory.authorize(request, now=later)
    item = directory.nonces.dynamodb.get_item(
        TableName=directory.nonces.views_table,
        Key={
            "pk": {"S": vk.nonce_pk("acme", key.key_id, request.headers["X-Fr-Nonce"])},
            "sk": {"S": vk.NONCE_SK},
        },
    )
    assert "Item" in item


def test_an_expired_nonce_record_is_free_again(directory: Directory) -> None:
    assert directory.nonces.claim(
        "acme", "acme.0000000000000000", "n" * 16, now=T0, expires_at=T0 + 10
    )
    assert not directory.nonces.claim(
        "acme", "acme.0000000000000000", "n" * 16, now=T0 + 10, expires_at=T0 + 20
    )
    assert directory.nonces.claim(
        "acme", "acme.0000000000000000", "n" * 16, now=T0 + 11, expires_at=T0 + 21
    )


def test_a_nonce_is_once_per_key_not_once_per_world(directory: Directory) -> None:
    first, first_secret = directory.keys.create("acme", frozenset({scopes.READ}))
    second, second_secret = directory.keys.create("globex", frozenset({scopes.READ}))
    nonce = "shared-nonce-0123456789"

    assert directory.authorize(directory.request(first.key_id, first_secret, nonce=nonce)) == "acme"
    assert (
        directory.authorize(directory.request(second.key_id, second_secret, nonce=nonce))
        == "globex"
    )


def test_a_refused_signature_does_not_use_up_the_nonce(directory: Directory) -> None:
    key, secret = directory.keys.create("acme", frozenset({scopes.READ}))
    nonce = "attacker-guessed-nonce-1"
    with pytest.raises(AccessDeniedError):
        directory.authorize(directory.request(key.key_id, "frsk_wrong", nonce=nonce))

    assert directory.authorize(directory.request(key.key_id, secret, nonce=nonce)) == "acme"


def test_the_tenant_is_the_keys_and_another_tenants_secret_does_not_sign_for_it(
    directory: Directory,
) -> None:
    acme, _ = directory.keys.create("acme", frozenset({scopes.READ}))
    _, globex_secret = directory.keys.create("globex", frozenset({scopes.READ}))

    with pytest.raises(AccessDeniedError):
        directory.authorize(directory.request(acme.key_id, globex_secret))


def test_a_key_without_the_routes_scope_is_refused(directory: Directory) -> None:
    key, secret = directory.keys.create("acme", frozenset({scopes.SUBMIT}))

    with pytest.raises(AccessDeniedError, match="scope"):
        directory.authorize(directory.request(key.key_id, secret))


@pytest.mark.parametrize("route", sorted(scopes.PUBLIC_ROUTES))
def test_a_public_route_is_nothing_the_signer_grants(directory: Directory, route: str) -> None:
    # Given a key with every scope, and a request to a route that needs no signature
    key, secret = directory.keys.create("acme", scopes.ALL_SCOPES)
    method, path = route.split(" ", 1)
    headers = sign_request(key_id=key.key_id, secret=secret, method=method, path=path, timestamp=T0)
    # When the signer is asked for it (were the route ever put behind it), Then it refuses:
    # being public is the template's `Authorizer: NONE`, never a pass from the signer
    with pytest.raises(AccessDeniedError, match="scope"):
        directory.authorize(AuthorizationRequest(route, method, path, "", headers))


def authorizer_view(directory: Directory, clock: Callable[[], float]) -> Directory:
    """The authorizer's own directory (another container): secrets cached 30 s, its clock."""
    keys = KeyDirectory(
        directory.keys.views_table,
        "formrelay/tenants/",
        dynamodb=directory.keys.dynamodb,
        secretsmanager=directory.aws.secretsmanager,
        cache_seconds=30,
        clock=clock,
    )
    return Directory(keys, directory.nonces, directory.aws)


def test_a_key_made_after_the_secrets_were_cached_works_at_once(directory: Directory) -> None:
    cached = authorizer_view(directory, time.monotonic).keys
    first, first_secret = directory.keys.create("acme", frozenset({scopes.READ}))
    assert cached.secrets_for("acme", first.key_id) == [first_secret]  # the document is cached

    second, second_secret = directory.keys.create("acme", frozenset({scopes.READ}))

    assert cached.secrets_for("acme", second.key_id) == [second_secret]
    # and a rotated-out secret is still served from the cache, as documented
    directory.keys.revoke("acme", first.key_id)
    assert cached.secrets_for("acme", first.key_id) == [first_secret]


def test_two_keys_made_and_used_within_one_second_both_work_at_once(
    directory: Directory,
) -> None:
    # Given an authorizer that cached acme's secrets when a first key was used
    authorizer = authorizer_view(directory, lambda: 0.0)  # all within one instant
    used, used_secret = directory.keys.create("acme", frozenset({scopes.READ}))
    assert authorizer.authorize(directory.request(used.key_id, used_secret)) == "acme"

    # When two more keys are made, and each is used right away
    second, second_secret = directory.keys.create("acme", frozenset({scopes.READ}))
    assert authorizer.authorize(directory.request(second.key_id, second_secret)) == "acme"
    third, third_secret = directory.keys.create("acme", frozenset({scopes.READ}))

    # Then the third passes too: the refetch for the second does not hold it back
    assert authorizer.authorize(directory.request(third.key_id, third_secret)) == "acme"
    # and another tenant's new key as well
    theirs, their_secret = directory.keys.create("globex", frozenset({scopes.READ}))
    assert authorizer.authorize(directory.request(theirs.key_id, their_secret)) == "globex"


def test_a_key_missing_even_from_the_fresh_secrets_is_fetched_for_once_a_second(
    directory: Directory,
) -> None:
    # Given a key the table holds whose secret is not (yet) in the tenant's document
    now = [0.0]
    authorizer = authorizer_view(directory, lambda: now[0])
    directory.keys.create("acme", frozenset({scopes.READ}))  # the document exists
    secret = "frsk_" + "s" * 43
    key_id = "acme.00000000000000aa"
    directory.aws.dynamodb.put_item(
        TableName=directory.keys.views_table,
        Item={
            "pk": {"S": vk.tenant_pk("acme")},
            "sk": {"S": vk.key_sk(key_id)},
            "tenant_id": {"S": "acme"},
            "key_id": {"S": key_id},
            "scopes": {"SS": [scopes.READ]},
            "state": {"S": "active"},
        },
    )
    with pytest.raises(AccessDeniedError):  # fetched anew, still missing
        authorizer.authorize(directory.request(key_id, secret))

    # When its secret arrives
    def add_secret(document: dict[str, Any]) -> None:
        document["keys"][key_id] = {"current": secret}

    directory.keys.documents.update("formrelay/tenants/acme", add_secret)

    # Then requests within the second are refused from the cache, not fetched for each
    now[0] = 0.9
    with pytest.raises(AccessDeniedError):
        authorizer.authorize(directory.request(key_id, secret))
    now[0] = 1.0
    assert authorizer.authorize(directory.request(key_id, secret)) == "acme"


def signed_listing(key_id: str, secret: str, raw_query: str, **bound: str | None) -> dict[str, str]:
    """The signature headers of a listing read, signed with the given bound header values."""
    return sign_request(
        key_id=key_id,
        secret=secret,
        method="GET",
        path="/v1/submissions",
        raw_query=raw_query,
        timestamp=T0,
        **bound,
    )


def test_the_headers_that_change_meaning_are_verified(directory: Directory) -> None:
    # Given a request signed with its Idempotency-Key, X-Correlation-Id and Content-Type
    key, secret = directory.keys.create("acme", frozenset({scopes.READ}))
    bound = {
        "Content-Type": "application/json",
        "Idempotency-Key": "order-42",
        "X-Correlation-Id": "corr-7",
    }
    signature = signed_listing(
        key.key_id,
        secret,
        "status=received",
        content_type="application/json",
        idempotency_key="order-42",
        correlation_id="corr-7",
    )

    def request(headers: dict[str, str]) -> AuthorizationRequest:
        route = "GET /v1/submissions"
        return AuthorizationRequest(route, "GET", "/v1/submissions", "status=received", headers)

    # When any of them is swapped in flight, the authorizer (which sees the headers) refuses
    for name, forged in bound.items():
        with pytest.raises(AccessDeniedError, match="verify"):
            directory.authorize(request({**signature, **bound, name: forged + "-forged"}))
    # and as sent, the request passes
    assert directory.authorize(request({**signature, **bound})) == "acme"


@pytest.mark.parametrize(
    "raw_query", ["status=received&since=2000&since=2099", "status=received&%73tatus=failed"]
)
def test_a_query_naming_a_key_twice_is_refused_although_signed(
    directory: Directory, raw_query: str
) -> None:
    key, secret = directory.keys.create("acme", frozenset({scopes.READ}))
    headers = signed_listing(key.key_id, secret, raw_query)
    request = AuthorizationRequest(
        "GET /v1/submissions", "GET", "/v1/submissions", raw_query, headers
    )

    with pytest.raises(AccessDeniedError, match="repeated"):
        directory.authorize(request)


def test_a_key_passes_until_its_expiry_and_is_refused_from_then_on(directory: Directory) -> None:
    # Given a key that expires a minute after T0, and one of another tenant that never does
    key, secret = directory.keys.create("acme", frozenset({scopes.READ}), expires_at=T0 + 60)
    lasting, lasting_secret = directory.keys.create("globex", frozenset({scopes.READ}))

    # Then it passes a second before its expiry, and is refused from its expiry on
    assert directory.authorize(directory.request(key.key_id, secret, at=T0 + 59), now=T0 + 59)
    with pytest.raises(AccessDeniedError, match="expired"):
        directory.authorize(directory.request(key.key_id, secret, at=T0 + 60), now=T0 + 60)
    with pytest.raises(AccessDeniedError, match="expired"):
        directory.authorize(directory.request(key.key_id, secret, at=T0 + 9999), now=T0 + 9999)
    # while the other tenant's key goes on, and the expired key's record says when it ended
    later = directory.request(lasting.key_id, lasting_secret, at=T0 + 9999)
    assert directory.authorize(later, now=T0 + 9999) == "globex"
    assert directory.keys.get("acme", key.key_id).as_dict()["expires_at"] == (  # type: ignore[union-attr]
        "2027-01-15T08:01:00Z"
    )
