"""Tenants and keys on moto: listing, revocation, zero-downtime rotation, tenant isolation.

Given the template's Views table and Secrets Manager in moto, each test works on
tenants of its own. Secrets are read through a fresh KeyDirectory (an empty
cache) unless a test is about the cache.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from formrelay.auth.keys import KeyDirectory, KeyRecord
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


def stage(aws: TemplateAws, tenant_id: str, version_stage: str) -> dict[str, str] | None:
    """One stage of a tenant's secret as stored, or None if no version has that label."""
    try:
        answer = aws.secretsmanager.get_secret_value(
            SecretId=PREFIX + tenant_id, VersionStage=version_stage
        )
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return None
    keys: dict[str, str] = json.loads(answer["SecretString"])["keys"]
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
    assert stage(aws, tenant, "AWSCURRENT") == {kept.key_id: kept_secret}
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
    assert stage(aws, tenant, "AWSPENDING") is None


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
    assert stage(aws, tenant, "AWSCURRENT") == {key.key_id: old, other.key_id: other_secret}
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
    assert stage(aws, tenant, "AWSPENDING") is None
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
    assert stage(aws, tenant, "AWSPENDING") is None


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
    assert stage(aws, tenant, "AWSPENDING") is None
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
    assert key.key_id not in json.dumps(stage(aws, intruder, "AWSCURRENT"))
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
