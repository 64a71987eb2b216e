"""Console links on moto: a link is a short-lived key, made as every key is, and the
authorizer ends it at its expiry or when it is revoked.

Given the template's Views table and Secrets Manager in moto.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from formrelay.auth import scopes
from formrelay.auth.authorize import AccessDeniedError, AuthorizationRequest, authorize
from formrelay.auth.console_links import create_console_link
from formrelay.auth.keys import KeyDirectory
from formrelay.auth.nonces import NonceStore
from formrelay.auth.signing import sign_request
from formrelay.domain.errors import ConsoleLinkScopeError, InvalidConsoleLinkError
from tests.support.template_aws import TemplateAws, template_aws

T0 = 1_800_000_000
API = "https://abc123.execute-api.eu-west-1.amazonaws.com"
ROUTE, PATH = "GET /v1/submissions", "/v1/submissions"


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


@pytest.fixture
def keys(aws: TemplateAws) -> KeyDirectory:
    return KeyDirectory(
        aws.views_table,
        "formrelay/tenants/",
        dynamodb=aws.dynamodb,
        secretsmanager=aws.secretsmanager,
        cache_seconds=0,
    )


def fragment(url: str) -> tuple[str, str]:
    """The key id and secret a link's fragment carries."""
    found = parse_qs(urlsplit(url).fragment)
    return found["k"][0], found["s"][0]


def passes(
    keys: KeyDirectory,
    aws: TemplateAws,
    key_id: str,
    secret: str,
    at: int,
    route: tuple[str, str] = (ROUTE, PATH),
) -> str:
    """The tenant a request signed with the link's key at `at` acts for (or AccessDenied)."""
    route_key, path = route
    headers = sign_request(key_id=key_id, secret=secret, method="GET", path=path, timestamp=at)
    request = AuthorizationRequest(route_key, "GET", path, "", headers)
    nonces = NonceStore(aws.views_table, aws.dynamodb)
    return authorize(request, keys=keys, nonces=nonces, now=at, window_seconds=300).tenant_id


def test_a_link_is_a_key_of_its_tenant_with_the_default_scopes_for_an_hour(
    keys: KeyDirectory,
) -> None:
    link = create_console_link(keys, "cl-acme", API, now=T0)

    key_id, secret = fragment(link.url)
    assert link.url.startswith(f"{API}/console/#k=")
    assert parse_qs(urlsplit(link.url).fragment)["scopes"] == ["read,audit,submit"]
    assert urlsplit(link.url).path == "/console/" and secret not in link.url.split("#")[0]
    assert key_id == link.key_id and key_id.startswith("cl-acme.")
    assert secret.startswith("frsk_") and keys.secrets_for("cl-acme", key_id) == [secret]
    assert link.scopes == {"read", "audit", "submit"}
    record = keys.get("cl-acme", key_id)
    assert record is not None and record.expires_at == T0 + 3600
    assert record.scopes == link.scopes and record.active
    assert link.as_dict()["expires_at"] == "2027-01-15T09:00:00Z"
    # Its key lists under its own tenant only
    assert [k.record.key_id for k in keys.list("cl-acme")] == [key_id]
    assert keys.list("cl-umbrella") == []
    assert keys.get("cl-umbrella", key_id) is None


def test_the_authorizer_passes_a_link_until_its_expiry(
    keys: KeyDirectory, aws: TemplateAws
) -> None:
    link = create_console_link(keys, "cl-exp", API, now=T0, scopes=["read"], ttl_seconds=90)
    key_id, secret = fragment(link.url)

    assert passes(keys, aws, key_id, secret, T0 + 89) == "cl-exp"
    with pytest.raises(AccessDeniedError, match="expired"):
        passes(keys, aws, key_id, secret, T0 + 90)


def test_revoking_a_links_key_ends_it_at_once(keys: KeyDirectory, aws: TemplateAws) -> None:
    link = create_console_link(keys, "cl-rev", API, now=T0)
    key_id, secret = fragment(link.url)
    assert passes(keys, aws, key_id, secret, T0 + 1) == "cl-rev"

    keys.revoke("cl-rev", key_id)

    with pytest.raises(AccessDeniedError, match="revoked"):
        passes(keys, aws, key_id, secret, T0 + 2)


def test_a_link_holds_only_the_scopes_it_names(keys: KeyDirectory, aws: TemplateAws) -> None:
    link = create_console_link(keys, "cl-sub", API, now=T0, scopes=[scopes.READ])
    key_id, secret = fragment(link.url)

    audit = ("GET /v1/audit/events", "/v1/audit/events")
    with pytest.raises(AccessDeniedError, match="none of the scopes"):
        passes(keys, aws, key_id, secret, T0 + 1, route=audit)


@pytest.mark.parametrize(
    ("given_scopes", "ttl"),
    [
        (["read", "root"], 3600),
        ([], 3600),
        (["submit"], 3600),
        (["read"], 0),
        (["read"], 59),
        (["read"], 43201),
    ],
)
def test_a_refused_link_writes_no_key(
    keys: KeyDirectory, given_scopes: list[str], ttl: float
) -> None:
    with pytest.raises(InvalidConsoleLinkError):
        create_console_link(keys, "cl-none", API, now=T0, scopes=given_scopes, ttl_seconds=ttl)

    assert keys.list("cl-none") == []


def test_a_link_may_hold_only_scopes_its_maker_holds(keys: KeyDirectory) -> None:
    with pytest.raises(ConsoleLinkScopeError, match="audit"):
        create_console_link(keys, "cl-ceil", API, now=T0, within=frozenset({"admin", "read"}))
    assert keys.list("cl-ceil") == []

    link = create_console_link(
        keys, "cl-ceil", API, now=T0, scopes=["read"], within=frozenset({"admin", "read"})
    )
    assert link.scopes == {"read"}
