"""The forms contract: the in-memory fake and the Views table adapter (on moto) behave alike.

`FormCatalogContract` holds the tests; each back end provides a catalog and,
over the same storage, a destination directory (a form loads with its
destinations). The moto back end runs on the template's own Views table.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.delivery.destinations import DestinationDirectory
from formrelay.delivery.dynamodb import DynamoDBDestinationDirectory
from formrelay.delivery.memory import InMemoryDestinationDirectory
from formrelay.domain.destinations import Destination
from formrelay.domain.errors import InvalidIdentifierError
from formrelay.local import dynamodb_atomicity
from formrelay.registry.dynamodb import DynamoDBFormCatalog
from formrelay.registry.forms import FormCatalog
from formrelay.registry.memory import InMemoryFormCatalog
from tests.support.template_aws import TemplateAws, template_aws

NAME_REQUIRED = {"type": "object", "required": ["name"]}
EMAIL_REQUIRED = {"type": "object", "required": ["email"]}


def destination(tenant_id: str, form_id: str, destination_id: str) -> Destination:
    return Destination(
        tenant_id, form_id, destination_id, f"https://hooks.example.com/{destination_id}"
    )


class FormCatalogContract:
    """The behaviour every FormCatalog back end must show."""

    @pytest.fixture
    def tenant(self) -> str:
        return f"t{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def other_tenant(self) -> str:
        return f"o{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def catalogs(self) -> Iterator[tuple[FormCatalog, DestinationDirectory]]:
        raise NotImplementedError  # each back end: a catalog and a directory over one storage

    @pytest.fixture
    def forms(self, catalogs: tuple[FormCatalog, DestinationDirectory]) -> FormCatalog:
        return catalogs[0]

    @pytest.fixture
    def directory(self, catalogs: tuple[FormCatalog, DestinationDirectory]) -> DestinationDirectory:
        return catalogs[1]

    def test_an_unknown_form_is_none(self, forms: FormCatalog, tenant: str) -> None:
        assert forms.load(tenant, "contact") is None

    def test_each_schema_is_a_new_version_and_the_newest_is_current(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        # Given a form registered with one schema, then another
        first = forms.put_schema(tenant, "contact", NAME_REQUIRED)
        second = forms.put_schema(tenant, "contact", EMAIL_REQUIRED)

        # Then they are versions 1 and 2, and the form validates against the second
        assert (first, second) == (1, 2)
        form = forms.load(tenant, "contact")
        assert form is not None
        assert (form.tenant_id, form.form_id, form.schema_version) == (tenant, "contact", 2)
        assert form.schema.schema == EMAIL_REQUIRED
        assert [v.message for v in form.schema.violations({"name": "Ada"})] == [
            "'email' is a required property"
        ]
        assert form.schema.violations({"email": "ada@example.com"}) == []
        assert form.destinations == ()

    def test_a_schema_that_does_not_compile_is_refused_and_stores_nothing(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        with pytest.raises(ValueError):  # the schema compiler's definition error
            forms.put_schema(tenant, "contact", {"type": 12})
        assert forms.load(tenant, "contact") is None

    def test_a_form_id_outside_its_pattern_is_refused_and_stores_nothing(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        with pytest.raises(InvalidIdentifierError):
            forms.put_schema(tenant, "../contact", NAME_REQUIRED)
        assert forms.load(tenant, "../contact") is None

    def test_mutating_a_registered_schema_changes_nothing_stored(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        schema: dict[str, Any] = {"type": "object", "required": ["name"]}
        forms.put_schema(tenant, "contact", schema)
        schema["required"].append("email")
        form = forms.load(tenant, "contact")
        assert form is not None and form.schema.schema == NAME_REQUIRED

    def test_a_form_loads_with_its_own_destinations_only(
        self, forms: FormCatalog, directory: DestinationDirectory, tenant: str
    ) -> None:
        # Given a form with two destinations, and a form whose id extends its id
        forms.put_schema(tenant, "contact", NAME_REQUIRED)
        forms.put_schema(tenant, "contact-eu", NAME_REQUIRED)
        directory.put(destination(tenant, "contact", "slack"))
        directory.put(destination(tenant, "contact", "crm"))
        directory.put(destination(tenant, "contact-eu", "eu-crm"))

        # Then each loads with its own destinations, ordered by id
        contact = forms.load(tenant, "contact")
        assert contact is not None
        assert [d.destination_id for d in contact.destinations] == ["crm", "slack"]
        assert contact.destinations[0] == destination(tenant, "contact", "crm")
        eu = forms.load(tenant, "contact-eu")
        assert eu is not None and [d.destination_id for d in eu.destinations] == ["eu-crm"]

    def test_a_disabled_destination_still_loads_with_its_form(
        self, forms: FormCatalog, directory: DestinationDirectory, tenant: str
    ) -> None:
        forms.put_schema(tenant, "contact", NAME_REQUIRED)
        directory.put(destination(tenant, "contact", "crm"))
        directory.disable(tenant, "contact", "crm", "gone (HTTP 410)")
        form = forms.load(tenant, "contact")
        assert form is not None
        assert [(d.destination_id, d.enabled) for d in form.destinations] == [("crm", False)]

    def test_another_tenant_sees_none_of_it(
        self,
        forms: FormCatalog,
        directory: DestinationDirectory,
        tenant: str,
        other_tenant: str,
    ) -> None:
        # Given a tenant's form with a destination
        forms.put_schema(tenant, "contact", NAME_REQUIRED)
        directory.put(destination(tenant, "contact", "crm"))

        # Then another tenant has no such form, and its own form of that id starts at 1
        assert forms.load(other_tenant, "contact") is None
        assert forms.put_schema(other_tenant, "contact", EMAIL_REQUIRED) == 1
        theirs = forms.load(other_tenant, "contact")
        assert theirs is not None and theirs.destinations == ()
        mine = forms.load(tenant, "contact")
        assert mine is not None and mine.schema.schema == NAME_REQUIRED

    def test_writers_racing_each_get_their_own_version(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        # Given six writers registering a schema for one form at the same moment
        versions: list[int] = []
        start = threading.Barrier(6)

        def register(n: int) -> None:
            start.wait()
            schema = {"type": "object", "required": [f"field{n}"]}
            versions.append(forms.put_schema(tenant, "contact", schema))

        threads = [threading.Thread(target=register, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Then none lost its version: 1 to 6, each once, and the form is at 6
        assert sorted(versions) == [1, 2, 3, 4, 5, 6]
        form = forms.load(tenant, "contact")
        assert form is not None and form.schema_version == 6


class TestInMemoryFormCatalog(FormCatalogContract):
    @pytest.fixture
    def catalogs(self) -> Iterator[tuple[FormCatalog, DestinationDirectory]]:
        directory = InMemoryDestinationDirectory()
        yield InMemoryFormCatalog(destinations=directory.for_form), directory


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    """The template's tables on moto, once per module: each test has tenants of its own."""
    dynamodb_atomicity.install()  # moto's conditional writes are not atomic across threads
    with template_aws() as provisioned:
        yield provisioned


class TestDynamoDBFormCatalog(FormCatalogContract):
    @pytest.fixture
    def catalogs(self, aws: TemplateAws) -> Iterator[tuple[FormCatalog, DestinationDirectory]]:
        yield (
            DynamoDBFormCatalog(aws.views_table, aws.dynamodb),
            DynamoDBDestinationDirectory(aws.views_table, aws.dynamodb),
        )
