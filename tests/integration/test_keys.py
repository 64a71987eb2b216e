"""Tenants and keys on moto: listing, revocation, zero-downtime rotation, tenant isolation.

Given the template's Views table and Secrets Manager in moto, each test works on
tenants of its own. Secrets are read through a fresh KeyDirectory (an empty
cache) unless a test is about the cache.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import cast

import pytest
from botocore.exceptions import ClientError

from formrelay.auth.keys import KeyDirectory, KeyRecord
from formrelay.auth.nonces import NonceStore
from formrelay.auth.tenants import RateLimit, Tenant, TenantDirectory
from formrelay.bootstrap import create_tenant
from formrelay.composition import Services
from formrelay.domain.errors import (
    InvalidRateLimitError,
    InvalidScopesError,
    KeyRevokedError,
    NoRotationPendingError,
    RotationPendingError,
    TenantExistsError,
    UnknownKeyError,
    UnknownTenantError,
)
from formrelay.settings import Settings
from tests.support.at_once import at_once
from tests.support.authorizer import authorized_tenant
from tests.support.template_aws import TemplateAws, template_aws

PREFIX = "formrelay/tenants/"
READ = frozenset({"read"})


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


@pytest.fixture
def tenant() -> str:
    """A tenant id no other test uses."""
    return f"t-{secrets.token_hex(4)}"


def directory(aws: TemplateAws, cache_seconds: int = 30) -> KeyDirectory:
    """A key directory with an empty secret cache."""
    return KeyDirectory(
        aws.views_table,
        PREFIX,
        dynamodb=aws.dynamodb,
        secretsmanager=aws.secretsmanager,
        cache_seconds=cache_seconds,
    )


def verifying(aws: TemplateAws, tenant_id: str, key_id: str) -> list[str]:
    """The secrets the authorizer would accept right now for a key (nothing cached)."""
    return directory(aws).secrets_for(tenant_id, key_id)


def stored(aws: TemplateAws, tenant_id: str) -> dict[str, dict[str, str]] | None:
    """A tenant's key secrets as Secrets Manager holds them now, or None if it holds none."""
    try:
        answer = aws.secretsmanager.get_secret_value(
            SecretId=PREFIX + tenant_id, VersionStage="AWSCURRENT"
        )
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return None
    keys: dict[str, dict[str, str]] = json.loads(answer["SecretString"])["keys"]
    return keys


def key_item(aws: TemplateAws, tenant_id: str, key_id: str) -> dict[str, dict[str, str]]:
    item: dict[str, dict[str, str]] = aws.dynamodb.get_item(
        TableName=aws.views_table, Key={"pk": {"S": f"T#{tenant_id}"}, "sk": {"S": f"KEY#{key_id}"}}
    )["Item"]
    return item


def make_key(aws: TemplateAws, tenant_id: str) -> tuple[KeyRecord, str]:
    return directory(aws).create(tenant_id, READ)


# --- listing --------------------------------------------------------------------------


def test_list_shows_metadata_and_no_secret(aws: TemplateAws, tenant: str) -> None:
    keys = directory(aws)
    reader, reader_secret = keys.create(tenant, READ)
    admin, _ = keys.create(tenant, frozenset({"admin", "submit"}), RateLimit(2.5, 10))
    directory(aws).create("other-tenant", READ)

    listed = {entry.record.key_id: entry for entry in keys.list(tenant)}

    assert set(listed) == {reader.key_id, admin.key_id}
    assert listed[admin.key_id].as_dict() == {
        "key_id": admin.key_id,
        "tenant_id": tenant,
        "scopes": ["admin", "submit"],
        "state": "active",
        "rate_per_second": 2.5,
        "burst": 10,
        "expires_at": None,
        "rotation_pending": False,
    }
    assert listed[reader.key_id].record.rate_limit is None
    assert reader_secret not in json.dumps([entry.as_dict() for entry in listed.values()])


def test_a_key_limit_is_written_under_the_attribute_names_the_limiter_reads(
    aws: TemplateAws, tenant: str
) -> None:
    key, _ = directory(aws).create(tenant, READ, RateLimit(5, 20))

    item = key_item(aws, tenant, key.key_id)

    assert (item["rate_per_second"], item["burst"]) == ({"N": "5"}, {"N": "20"})


def test_unknown_scopes_are_refused(aws: TemplateAws, tenant: str) -> None:
    with pytest.raises(InvalidScopesError):
        directory(aws).create(tenant, frozenset({"read", "root"}))
    with pytest.raises(InvalidScopesError):
        directory(aws).create(tenant, frozenset())


# --- revocation -----------------------------------------------------------------------


def test_revoke_marks_the_key_and_removes_its_secret(aws: TemplateAws, tenant: str) -> None:
    keys = directory(aws)
    doomed, _ = make_key(aws, tenant)
    kept, kept_secret = make_key(aws, tenant)

    revoked = keys.revoke(tenant, doomed.key_id)

    assert revoked.state == "revoked" and not revoked.active
    assert keys.get(tenant, doomed.key_id) == revoked
    assert verifying(aws, tenant, doomed.key_id) == []
    assert stored(aws, tenant) == {kept.key_id: {"current": kept_secret}}
    assert verifying(aws, tenant, kept.key_id) == [kept_secret]


def test_revoking_again_is_harmless_and_an_unknown_key_is_an_error(
    aws: TemplateAws, tenant: str
) -> None:
    keys = directory(aws)
    key, _ = make_key(aws, tenant)
    keys.revoke(tenant, key.key_id)

    assert keys.revoke(tenant, key.key_id).state == "revoked"
    with pytest.raises(UnknownKeyError):
        keys.revoke(tenant, f"{tenant}.0123456789abcdef")


def test_revoking_a_key_mid_rotation_drops_its_pending_secret_only(
    aws: TemplateAws, tenant: str
) -> None:
    keys = directory(aws)
    doomed, _ = make_key(aws, tenant)
    other, other_secret = make_key(aws, tenant)
    keys.start_rotation(tenant, doomed.key_id)
    other_new = keys.start_rotation(tenant, other.key_id)

    keys.revoke(tenant, doomed.key_id)

    assert verifying(aws, tenant, doomed.key_id) == []
    assert verifying(aws, tenant, other.key_id) == [other_secret, other_new]
    keys.revoke(tenant, other.key_id)
    assert stored(aws, tenant) == {}


# --- rotation -------------------------------------------------------------------------


def test_during_rotation_both_secrets_verify_and_other_keys_are_unchanged(
    aws: TemplateAws, tenant: str
) -> None:
    keys = directory(aws)
    key, old = make_key(aws, tenant)
    other, other_secret = make_key(aws, tenant)

    new = keys.start_rotation(tenant, key.key_id)

    assert new != old and new.startswith("frsk_")
    assert verifying(aws, tenant, key.key_id) == [old, new]
    assert verifying(aws, tenant, other.key_id) == [other_secret]
    assert stored(aws, tenant) == {
        key.key_id: {"current": old, "pending": new},
        other.key_id: {"current": other_secret},
    }
    assert keys.rotation_pending(tenant, key.key_id)
    assert not keys.rotation_pending(tenant, other.key_id)
    pending = {entry.record.key_id: entry.rotation_pending for entry in keys.list(tenant)}
    assert pending == {key.key_id: True, other.key_id: False}


def test_after_finishing_only_the_new_secret_verifies(aws: TemplateAws, tenant: str) -> None:
    keys = directory(aws)
    key, _ = make_key(aws, tenant)
    new = keys.start_rotation(tenant, key.key_id)

    keys.finish_rotation(tenant, key.key_id)

    assert verifying(aws, tenant, key.key_id) == [new]
    assert stored(aws, tenant) == {key.key_id: {"current": new}}
    assert not keys.rotation_pending(tenant, key.key_id)


def test_another_keys_pending_rotation_survives_a_finish(aws: TemplateAws, tenant: str) -> None:
    keys = directory(aws)
    first, _ = make_key(aws, tenant)
    second, second_old = make_key(aws, tenant)
    first_new = keys.start_rotation(tenant, first.key_id)
    second_new = keys.start_rotation(tenant, second.key_id)
    assert verifying(aws, tenant, first.key_id)[1] == first_new  # starting B kept A's

    keys.finish_rotation(tenant, first.key_id)

    assert verifying(aws, tenant, first.key_id) == [first_new]
    assert verifying(aws, tenant, second.key_id) == [second_old, second_new]
    assert keys.rotation_pending(tenant, second.key_id)
    keys.finish_rotation(tenant, second.key_id)
    assert verifying(aws, tenant, second.key_id) == [second_new]
    assert stored(aws, tenant) == {
        first.key_id: {"current": first_new},
        second.key_id: {"current": second_new},
    }


def test_a_key_created_mid_rotation_is_current_and_not_pending(
    aws: TemplateAws, tenant: str
) -> None:
    keys = directory(aws)
    rotating, _ = make_key(aws, tenant)
    new = keys.start_rotation(tenant, rotating.key_id)

    late, late_secret = make_key(aws, tenant)
    keys.finish_rotation(tenant, rotating.key_id)

    assert verifying(aws, tenant, late.key_id) == [late_secret]
    assert verifying(aws, tenant, rotating.key_id) == [new]


def test_one_rotation_at_a_time_per_key(aws: TemplateAws, tenant: str) -> None:
    keys = directory(aws)
    key, old = make_key(aws, tenant)

    with pytest.raises(NoRotationPendingError):
        keys.finish_rotation(tenant, key.key_id)
    new = keys.start_rotation(tenant, key.key_id)
    with pytest.raises(RotationPendingError):
        keys.start_rotation(tenant, key.key_id)
    assert verifying(aws, tenant, key.key_id) == [old, new]


def test_cancelling_keeps_the_old_secret_only(aws: TemplateAws, tenant: str) -> None:
    keys = directory(aws)
    key, old = make_key(aws, tenant)
    keys.start_rotation(tenant, key.key_id)

    keys.cancel_rotation(tenant, key.key_id)

    assert verifying(aws, tenant, key.key_id) == [old]
    assert stored(aws, tenant) == {key.key_id: {"current": old}}
    with pytest.raises(NoRotationPendingError):
        keys.cancel_rotation(tenant, key.key_id)


def test_a_revoked_key_cannot_be_rotated(aws: TemplateAws, tenant: str) -> None:
    keys = directory(aws)
    key, _ = make_key(aws, tenant)
    keys.revoke(tenant, key.key_id)

    with pytest.raises(KeyRevokedError):
        keys.start_rotation(tenant, key.key_id)


def test_a_cached_directory_keeps_a_rotated_out_secret_until_its_cache_expires(
    aws: TemplateAws, tenant: str
) -> None:
    authorizer_view = directory(aws, cache_seconds=300)
    key, old = make_key(aws, tenant)
    new = directory(aws).start_rotation(tenant, key.key_id)
    assert authorizer_view.secrets_for(tenant, key.key_id) == [old, new]

    directory(aws).finish_rotation(tenant, key.key_id)

    assert authorizer_view.secrets_for(tenant, key.key_id) == [old, new]  # for up to the TTL
    assert verifying(aws, tenant, key.key_id) == [new]


# --- rival operators -------------------------------------------------------------------


def works(aws: TemplateAws, key_id: str, secret: str) -> bool:
    """Whether the authorizer (a fresh container) passes a request signed now with secret."""
    nonces = NonceStore(aws.views_table, aws.dynamodb)
    return authorized_tenant(directory(aws), nonces, key_id, secret) == key_id.split(".")[0]


def test_eight_keys_created_at_once_for_one_tenant_all_work(aws: TemplateAws, tenant: str) -> None:
    # When eight operators (each with a directory of their own) create a key at the same moment
    created = at_once([lambda: directory(aws).create(tenant, READ) for _ in range(8)])

    # Then eight keys exist, and each one's secret passes the authorizer
    key_ids = {key.key_id for key, _ in created}
    assert len(key_ids) == 8
    assert {entry.record.key_id for entry in directory(aws).list(tenant)} == key_ids
    assert all(works(aws, key.key_id, secret) for key, secret in created)
    assert set(stored(aws, tenant) or {}) == key_ids


def test_rotations_revocations_and_creations_of_one_tenant_at_once_lose_nothing(
    aws: TemplateAws, tenant: str
) -> None:
    # Given eight keys of one tenant
    keys = [make_key(aws, tenant) for _ in range(8)]
    ids = [key.key_id for key, _ in keys]
    old = [secret for _, secret in keys]

    # When at one moment four rotations start, two keys are revoked and two keys are made
    results = at_once(
        [*(lambda i=i: directory(aws).start_rotation(tenant, ids[i]) for i in range(4))]
        + [*(lambda i=i: directory(aws).revoke(tenant, ids[i]) for i in (4, 5))]
        + [lambda: directory(aws).create(tenant, READ) for _ in range(2)]
    )

    # Then every change holds
    new = [str(secret) for secret in results[:4]]
    made = [cast("tuple[KeyRecord, str]", result) for result in results[6:]]
    for i in range(4):
        assert verifying(aws, tenant, ids[i]) == [old[i], new[i]]
        assert works(aws, ids[i], old[i]) and works(aws, ids[i], new[i])
    for i in (4, 5):
        assert verifying(aws, tenant, ids[i]) == [] and not works(aws, ids[i], old[i])
    for key, secret in [*keys[6:], *made]:
        assert verifying(aws, tenant, key.key_id) == [secret] and works(aws, key.key_id, secret)
    pending = {
        entry.record.key_id for entry in directory(aws).list(tenant) if entry.rotation_pending
    }
    assert pending == set(ids[:4])

    # When at one moment two rotations finish, two are cancelled, one more key is revoked
    # and another starts rotating
    results = at_once(
        [
            lambda: directory(aws).finish_rotation(tenant, ids[0]),
            lambda: directory(aws).finish_rotation(tenant, ids[1]),
            lambda: directory(aws).cancel_rotation(tenant, ids[2]),
            lambda: directory(aws).cancel_rotation(tenant, ids[3]),
            lambda: directory(aws).revoke(tenant, ids[6]),
            lambda: directory(aws).start_rotation(tenant, ids[7]),
        ]
    )

    # Then again every change holds
    assert [verifying(aws, tenant, ids[i]) for i in range(4)] == [
        [new[0]],
        [new[1]],
        [old[2]],
        [old[3]],
    ]
    assert not works(aws, ids[0], old[0]) and not works(aws, ids[2], new[2])
    assert verifying(aws, tenant, ids[6]) == []
    assert verifying(aws, tenant, ids[7]) == [old[7], str(results[5])]
    assert set(stored(aws, tenant) or {}) == {*ids[:4], ids[7], *(key.key_id for key, _ in made)}


# --- tenant isolation -----------------------------------------------------------------


def test_another_tenant_cannot_revoke_or_rotate_a_key(aws: TemplateAws, tenant: str) -> None:
    keys = directory(aws)
    key, secret = make_key(aws, tenant)
    intruder = f"{tenant}-b"
    make_key(aws, intruder)

    for change in (keys.revoke, keys.start_rotation, keys.finish_rotation, keys.cancel_rotation):
        with pytest.raises(UnknownKeyError):
            change(intruder, key.key_id)

    assert keys.get(tenant, key.key_id) == key
    assert verifying(aws, tenant, key.key_id) == [secret]
    assert key.key_id not in json.dumps(stored(aws, intruder))
    assert [entry.record.key_id for entry in keys.list(intruder)] != [key.key_id]


# --- tenants --------------------------------------------------------------------------


def tenants(aws: TemplateAws) -> TenantDirectory:
    return TenantDirectory(aws.views_table, aws.dynamodb)


def test_a_tenant_is_created_with_optional_limits(aws: TemplateAws, tenant: str) -> None:
    created = tenants(aws).create(tenant, "Acme Corp", rate_per_second=50, burst=100)

    assert created == Tenant(tenant, "Acme Corp", RateLimit(50.0, 100))
    assert tenants(aws).get(tenant) == created
    item = aws.dynamodb.get_item(
        TableName=aws.views_table, Key={"pk": {"S": f"T#{tenant}"}, "sk": {"S": "TENANT"}}
    )["Item"]
    assert (item["rate_per_second"], item["burst"]) == ({"N": "50"}, {"N": "100"})
    assert tenants(aws).get(f"{tenant}-none") is None


def test_creating_the_same_tenant_again_is_a_no_op_anything_else_is_refused(
    aws: TemplateAws, tenant: str
) -> None:
    first = tenants(aws).create(tenant, "Acme")

    assert tenants(aws).create(tenant, "Acme") == first
    with pytest.raises(TenantExistsError):
        tenants(aws).create(tenant, "Acme Corp")
    with pytest.raises(TenantExistsError):
        tenants(aws).create(tenant, "Acme", rate_per_second=1, burst=1)
    assert tenants(aws).get(tenant) == first


def test_set_limits_keeps_the_name_and_needs_a_tenant(aws: TemplateAws, tenant: str) -> None:
    tenants(aws).create(tenant, "Acme", rate_per_second=1, burst=2)

    updated = tenants(aws).set_limits(tenant, 0.5, 3)

    assert updated == Tenant(tenant, "Acme", RateLimit(0.5, 3)) == tenants(aws).get(tenant)
    with pytest.raises(UnknownTenantError):
        tenants(aws).set_limits(f"{tenant}-none", 1, 1)
    with pytest.raises(InvalidRateLimitError):
        tenants(aws).set_limits(tenant, 0, 3)


def test_bootstrap_creates_tenants_through_the_directory(aws: TemplateAws, tenant: str) -> None:
    settings = Settings(
        events_table=aws.events_table,
        views_table=aws.views_table,
        delivery_queue_url="unused",
        tenant_secret_prefix=PREFIX,
        retry_schedule_seconds=(1,),
    )
    services = Services(settings, dynamodb=aws.dynamodb, secretsmanager=aws.secretsmanager)

    assert create_tenant(services, tenant) == Tenant(tenant, tenant)
    assert create_tenant(services, tenant) == Tenant(tenant, tenant)  # seeding twice is fine
    assert services.tenants.get(tenant) == Tenant(tenant, tenant)
