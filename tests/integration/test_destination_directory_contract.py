"""The destinations contract: the in-memory fake and the Views table adapter (moto) alike."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import pytest

from formrelay.delivery.destinations import DestinationDirectory
from formrelay.delivery.dynamodb import DynamoDBDestinationDirectory
from formrelay.delivery.memory import InMemoryDestinationDirectory
from formrelay.domain.destinations import Destination
from formrelay.domain.errors import InvalidIdentifierError
from tests.support.template_aws import TemplateAws, template_aws


def full(tenant_id: str, destination_id: str = "crm") -> Destination:
    """A destination with every field set away from its default."""
    return Destination(
        tenant_id=tenant_id,
        form_id="contact",
        destination_id=destination_id,
        url="https://hooks.example.com/in?x=1",
        method="PUT",
        headers={"X-Team": "sales", "X-Unicode": "ünï"},
        auth={"type": "api_key", "header": "X-Api-Key"},
        mapping={"email": "/email", "source": {"const": "web"}, "id": {"meta": "submission_id"}},
        timeout_seconds=2.5,
        connect_timeout_seconds=1.5,
        retry_schedule_seconds=(1, 60, 3600),
    )


class DestinationDirectoryContract:
    """The behaviour every DestinationDirectory back end must show."""

    @pytest.fixture
    def tenant(self) -> str:
        return f"t{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def other_tenant(self) -> str:
        return f"o{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def directory(self) -> Iterator[DestinationDirectory]:
        raise NotImplementedError

    def test_a_destination_reads_back_exactly_as_put(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        directory.put(full(tenant))
        assert directory.get(tenant, "contact", "crm") == full(tenant)

    def test_defaults_read_back_as_defaults(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        plain = Destination(tenant, "contact", "crm", "https://hooks.example.com/in")
        directory.put(plain)
        assert directory.get(tenant, "contact", "crm") == plain

    def test_an_unknown_destination_is_none(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        assert directory.get(tenant, "contact", "crm") is None

    def test_a_put_replaces_the_whole_destination(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        directory.put(full(tenant))
        replacement = Destination(tenant, "contact", "crm", "https://other.example.com/")
        directory.put(replacement)
        assert directory.get(tenant, "contact", "crm") == replacement

    def test_ids_outside_their_pattern_are_refused_and_store_nothing(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        for bad in (
            dataclasses.replace(full(tenant), destination_id="a/b"),
            dataclasses.replace(full(tenant), form_id="#contact"),
        ):
            with pytest.raises(InvalidIdentifierError):
                directory.put(bad)
            assert directory.get(tenant, bad.form_id, bad.destination_id) is None

    def test_delete_says_whether_there_was_one(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        directory.put(full(tenant))
        assert directory.delete(tenant, "contact", "crm") is True
        assert directory.get(tenant, "contact", "crm") is None
        assert directory.delete(tenant, "contact", "crm") is False

    def test_disable_keeps_everything_else_and_a_put_enables_again(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        # Given a destination that is disabled
        directory.put(full(tenant))
        assert directory.disable(tenant, "contact", "crm", "gone (HTTP 410)") is True

        # Then it reads back disabled with its reason, otherwise unchanged
        disabled = directory.get(tenant, "contact", "crm")
        assert disabled == dataclasses.replace(
            full(tenant), enabled=False, disabled_reason="gone (HTTP 410)"
        )

        # And a put of it enabled enables it again, without the reason
        directory.put(full(tenant))
        assert directory.get(tenant, "contact", "crm") == full(tenant)

    def test_enable_brings_back_a_disabled_destination_exactly_as_it_was(
        self, directory: DestinationDirectory, tenant: str, other_tenant: str
    ) -> None:
        # Given a destination a 410 disabled
        directory.put(full(tenant))
        directory.disable(tenant, "contact", "crm", "gone (HTTP 410)")
        # When it is enabled (as an admin does, without its settings or secrets)
        assert directory.enable(tenant, "contact", "crm") is True
        # Then it reads back enabled, without a reason, every setting as it was PUT
        assert directory.get(tenant, "contact", "crm") == full(tenant)
        # And enabling a missing one creates nothing, nor does another tenant's enable
        assert directory.enable(tenant, "contact", "mail") is False
        assert directory.get(tenant, "contact", "mail") is None
        directory.disable(tenant, "contact", "crm", "gone (HTTP 410)")
        assert directory.enable(other_tenant, "contact", "crm") is False
        assert directory.get(tenant, "contact", "crm").enabled is False

    def test_disabling_a_missing_destination_creates_nothing(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        assert directory.disable(tenant, "contact", "crm", "gone (HTTP 410)") is False
        assert directory.get(tenant, "contact", "crm") is None

    def test_another_tenant_can_neither_read_nor_change_it(
        self, directory: DestinationDirectory, tenant: str, other_tenant: str
    ) -> None:
        # Given a tenant's destination
        directory.put(full(tenant))

        # Then another tenant does not see it, and its writes by the same ids touch only its own
        assert directory.get(other_tenant, "contact", "crm") is None
        assert directory.disable(other_tenant, "contact", "crm", "x") is False
        assert directory.delete(other_tenant, "contact", "crm") is False
        directory.put(Destination(other_tenant, "contact", "crm", "https://theirs.example.com/"))
        assert directory.get(tenant, "contact", "crm") == full(tenant)

    def test_changing_a_destination_after_put_or_get_changes_nothing_stored(
        self, directory: DestinationDirectory, tenant: str
    ) -> None:
        mine = full(tenant)
        directory.put(mine)
        mine.headers["X-Team"] = "mallory"
        read = directory.get(tenant, "contact", "crm")
        assert read is not None
        read.headers["X-Other"] = "1"
        assert directory.get(tenant, "contact", "crm") == full(tenant)


class TestInMemoryDestinationDirectory(DestinationDirectoryContract):
    @pytest.fixture
    def directory(self) -> Iterator[DestinationDirectory]:
        yield InMemoryDestinationDirectory()


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    """The template's tables on moto, once per module: each test has tenants of its own."""
    with template_aws() as provisioned:
        yield provisioned


class TestDynamoDBDestinationDirectory(DestinationDirectoryContract):
    @pytest.fixture
    def directory(self, aws: TemplateAws) -> Iterator[DestinationDirectory]:
        yield DynamoDBDestinationDirectory(aws.views_table, aws.dynamodb)
