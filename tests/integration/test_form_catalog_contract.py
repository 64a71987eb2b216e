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
from formrelay.registry.compatibility import Mode
from formrelay.registry.dynamodb import DynamoDBFormCatalog
from formrelay.registry.forms import FormCatalog, FormChangedError, FormHead, FormHistory
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
        assert forms.history(tenant, "contact") is None
        assert forms.schema_at(tenant, "contact", 1) is None
        assert forms.heads(tenant) == []

    def test_each_version_is_kept_and_the_newest_is_current(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        # Given a form registered with one schema, then another under another mode
        first = forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        second = forms.add_version(tenant, "contact", EMAIL_REQUIRED, Mode.FULL, after=first)

        # Then they are versions 1 and 2, and the form validates against the second
        assert first == FormHead("contact", 1, Mode.BACKWARD)
        assert second == FormHead("contact", 2, Mode.FULL)
        form = forms.load(tenant, "contact")
        assert form is not None
        assert (form.tenant_id, form.form_id, form.schema_version) == (tenant, "contact", 2)
        assert form.compatibility is Mode.FULL and form.head == second
        assert form.schema.schema == EMAIL_REQUIRED
        assert [v.message for v in form.schema.violations({"name": "Ada"})] == [
            "'email' is a required property"
        ]
        assert form.schema.violations({"email": "ada@example.com"}) == []
        assert form.destinations == ()
        # And every version stays readable, oldest first
        assert forms.schema_at(tenant, "contact", 1) == NAME_REQUIRED
        assert forms.schema_at(tenant, "contact", 2) == EMAIL_REQUIRED
        assert forms.schema_at(tenant, "contact", 3) is None
        assert forms.schema_at(tenant, "contact", 0) is None
        assert forms.history(tenant, "contact") == FormHistory(
            second, (NAME_REQUIRED, EMAIL_REQUIRED)
        )

    def test_a_version_based_on_a_head_that_changed_is_refused_and_stores_nothing(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        # Given a form at version 2, and a writer that read it at version 1
        first = forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        second = forms.add_version(tenant, "contact", EMAIL_REQUIRED, Mode.BACKWARD, after=first)

        # When the stale writer adds its version, or another writer creates the form anew
        with pytest.raises(FormChangedError):
            forms.add_version(tenant, "contact", {"type": "object"}, Mode.BACKWARD, after=first)
        with pytest.raises(FormChangedError):
            forms.add_version(tenant, "contact", {"type": "object"}, Mode.BACKWARD, after=None)

        # Then nothing changed: version 2 is current and there is no version 3
        history = forms.history(tenant, "contact")
        assert history == FormHistory(second, (NAME_REQUIRED, EMAIL_REQUIRED))
        assert forms.schema_at(tenant, "contact", 3) is None

    def test_a_version_based_on_a_mode_that_changed_is_refused(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        # Given a writer that read the form under BACKWARD, and the mode changed to FULL since
        first = forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        read = forms.history(tenant, "contact")
        assert read is not None
        changed = forms.set_compatibility(tenant, read, Mode.FULL)
        assert changed == FormHead("contact", 1, Mode.FULL)

        # Then its check (made under BACKWARD) cannot land, nor can a mode change based on it
        with pytest.raises(FormChangedError):
            forms.add_version(tenant, "contact", EMAIL_REQUIRED, Mode.BACKWARD, after=first)
        with pytest.raises(FormChangedError):
            forms.set_compatibility(tenant, read, Mode.NONE)
        form = forms.load(tenant, "contact")
        assert form is not None and form.head == changed
        assert form.schema.schema == NAME_REQUIRED

    def test_changing_the_mode_keeps_the_version_and_its_schema(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        first = forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        second = forms.add_version(tenant, "contact", EMAIL_REQUIRED, Mode.BACKWARD, after=first)
        read = forms.history(tenant, "contact")
        assert read is not None and read.head == second

        head = forms.set_compatibility(tenant, read, Mode.NONE)

        assert head == FormHead("contact", 2, Mode.NONE)
        assert forms.history(tenant, "contact") == FormHistory(
            head, (NAME_REQUIRED, EMAIL_REQUIRED)
        )
        form = forms.load(tenant, "contact")
        assert form is not None and form.schema.schema == EMAIL_REQUIRED
        assert forms.heads(tenant) == [head]

    def test_the_tenants_forms_are_listed_by_id_with_their_heads(
        self, forms: FormCatalog, directory: DestinationDirectory, tenant: str, other_tenant: str
    ) -> None:
        # Given forms of the tenant (one with a destination, one at version 2) and another's
        survey = forms.add_version(tenant, "survey", NAME_REQUIRED, Mode.NONE, after=None)
        contact = forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        contact = forms.add_version(tenant, "contact", EMAIL_REQUIRED, Mode.FULL, after=contact)
        directory.put(destination(tenant, "contact", "crm"))
        forms.add_version(other_tenant, "theirs", NAME_REQUIRED, Mode.BACKWARD, after=None)

        # Then the listing holds the tenant's forms only, at their current heads
        assert forms.heads(tenant) == [
            FormHead("contact", 2, Mode.FULL),
            FormHead("survey", 1, Mode.NONE),
        ]
        assert contact.version == 2 and survey.version == 1

    def test_a_schema_that_does_not_compile_is_refused_and_stores_nothing(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        with pytest.raises(ValueError):  # the schema compiler's definition error
            forms.add_version(tenant, "contact", {"type": 12}, Mode.BACKWARD, after=None)
        assert forms.load(tenant, "contact") is None
        assert forms.heads(tenant) == []

    def test_a_form_id_outside_its_pattern_is_refused_and_stores_nothing(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        with pytest.raises(InvalidIdentifierError):
            forms.add_version(tenant, "../contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        assert forms.load(tenant, "../contact") is None
        assert forms.history(tenant, "../contact") is None
        assert forms.schema_at(tenant, "../contact", 1) is None

    def test_mutating_a_registered_schema_changes_nothing_stored(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        schema: dict[str, Any] = {"type": "object", "required": ["name"]}
        forms.add_version(tenant, "contact", schema, Mode.BACKWARD, after=None)
        schema["required"].append("email")
        read = forms.schema_at(tenant, "contact", 1)
        assert read == NAME_REQUIRED
        read["required"].append("phone")
        form = forms.load(tenant, "contact")
        assert form is not None and form.schema.schema == NAME_REQUIRED
        assert forms.schema_at(tenant, "contact", 1) == NAME_REQUIRED

    def test_a_form_loads_with_its_own_destinations_only(
        self, forms: FormCatalog, directory: DestinationDirectory, tenant: str
    ) -> None:
        # Given a form (at version 2) with two destinations, and a form whose id extends its id
        first = forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        forms.add_version(tenant, "contact", EMAIL_REQUIRED, Mode.BACKWARD, after=first)
        forms.add_version(tenant, "contact-eu", NAME_REQUIRED, Mode.BACKWARD, after=None)
        directory.put(destination(tenant, "contact", "slack"))
        directory.put(destination(tenant, "contact", "crm"))
        directory.put(destination(tenant, "contact-eu", "eu-crm"))

        # Then each loads with its own destinations, ordered by id
        contact = forms.load(tenant, "contact")
        assert contact is not None
        assert [d.destination_id for d in contact.destinations] == ["crm", "slack"]
        assert contact.destinations[0] == destination(tenant, "contact", "crm")
        assert contact.schema.schema == EMAIL_REQUIRED
        eu = forms.load(tenant, "contact-eu")
        assert eu is not None and [d.destination_id for d in eu.destinations] == ["eu-crm"]
        history = forms.history(tenant, "contact")
        assert history is not None and history.schemas == (NAME_REQUIRED, EMAIL_REQUIRED)

    def test_a_disabled_destination_still_loads_with_its_form(
        self, forms: FormCatalog, directory: DestinationDirectory, tenant: str
    ) -> None:
        forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
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
        forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        directory.put(destination(tenant, "contact", "crm"))

        # Then another tenant has no such form, and its own form of that id starts at 1
        assert forms.load(other_tenant, "contact") is None
        assert forms.history(other_tenant, "contact") is None
        assert forms.schema_at(other_tenant, "contact", 1) is None
        assert forms.heads(other_tenant) == []
        theirs = forms.add_version(other_tenant, "contact", EMAIL_REQUIRED, Mode.NONE, after=None)
        assert theirs.version == 1
        loaded = forms.load(other_tenant, "contact")
        assert loaded is not None and loaded.destinations == ()
        mine = forms.load(tenant, "contact")
        assert mine is not None and mine.schema.schema == NAME_REQUIRED
        assert mine.compatibility is Mode.BACKWARD

    def test_writers_racing_on_one_head_only_one_wins(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        # Given six writers that all read the form at version 1
        first = forms.add_version(tenant, "contact", NAME_REQUIRED, Mode.BACKWARD, after=None)
        outcomes: list[str] = []
        start = threading.Barrier(6)

        def write(n: int) -> None:
            schema = {"type": "object", "required": [f"field{n}"]}
            start.wait()
            try:
                forms.add_version(tenant, "contact", schema, Mode.BACKWARD, after=first)
            except FormChangedError:
                outcomes.append("refused")
            else:
                outcomes.append("written")

        run_at_once(write, 6)

        # Then exactly one made version 2; the others were told the form changed
        assert sorted(outcomes) == ["refused"] * 5 + ["written"]
        history = forms.history(tenant, "contact")
        assert history is not None and len(history.schemas) == 2

    def test_writers_that_read_again_each_get_their_own_version(
        self, forms: FormCatalog, tenant: str
    ) -> None:
        # Given six writers registering a schema for one form at the same moment, each
        # reading the head again when another got there first
        versions: list[int] = []
        start = threading.Barrier(6)

        def register(n: int) -> None:
            schema = {"type": "object", "required": [f"field{n}"]}
            start.wait()
            while True:
                history = forms.history(tenant, "contact")
                after = None if history is None else history.head
                try:
                    head = forms.add_version(tenant, "contact", schema, Mode.NONE, after=after)
                except FormChangedError:
                    continue
                versions.append(head.version)
                return

        run_at_once(register, 6)

        # Then none lost its version: 1 to 6, each once, and the form is at 6
        assert sorted(versions) == [1, 2, 3, 4, 5, 6]
        history = forms.history(tenant, "contact")
        assert history is not None and history.head.version == 6
        assert sorted(s["required"][0] for s in history.schemas) == [f"field{n}" for n in range(6)]


def run_at_once(target: Any, count: int) -> None:
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


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
