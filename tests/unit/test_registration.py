"""Registering a form's schema (the use case), on the in-memory catalog.

What a client sees of each refusal is what the error map answers for it (tests/support/
refusals.py); the HTTP answers themselves are pinned in tests/integration/
test_problem_answers.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from formrelay.registry.compatibility import Mode
from formrelay.registry.forms import FormHead, FormHistory
from formrelay.registry.memory import InMemoryFormCatalog
from formrelay.registry.registration import Registration, form_schema_problem, register
from tests.support.refusals import refused

AGE_TEXT: dict[str, Any] = {"type": "object", "properties": {"age": {"type": "string"}}}
AGE_INTEGER: dict[str, Any] = {"type": "object", "properties": {"age": {"type": "integer"}}}
AGE_OR_NULL: dict[str, Any] = {
    "type": "object",
    "properties": {"age": {"type": ["integer", "null"]}},
}
AGE_OR_TEXT: dict[str, Any] = {
    "type": "object",
    "properties": {"age": {"type": ["integer", "string"]}},
}
EMAIL_REQUIRED: dict[str, Any] = {
    "type": "object",
    "required": ["email"],
    "properties": {"email": {"type": "string"}},
}


@pytest.fixture
def forms() -> InMemoryFormCatalog:
    return InMemoryFormCatalog()


def history(forms: InMemoryFormCatalog, form_id: str = "contact") -> FormHistory:
    found = forms.history("acme", form_id)
    assert found is not None
    return found


def test_a_new_form_is_version_1_under_backward_unless_told(forms: InMemoryFormCatalog) -> None:
    created = register(forms, "acme", "contact", AGE_INTEGER)
    told = register(forms, "acme", "survey", AGE_INTEGER, "NONE")

    assert created == Registration("contact", 1, Mode.BACKWARD, created=True, changed=True)
    assert created.body() == {"form_id": "contact", "version": 1, "compatibility": "BACKWARD"}
    assert told == Registration("survey", 1, Mode.NONE, created=True, changed=True)
    assert history(forms).schemas == (AGE_INTEGER,)


def test_the_same_schema_again_writes_nothing(forms: InMemoryFormCatalog) -> None:
    register(forms, "acme", "contact", AGE_INTEGER, Mode.FULL)
    # The same document with its keys in another order is the same schema (canonical JSON).
    reordered = {"properties": {"age": {"type": "integer"}}, "type": "object"}

    again = register(forms, "acme", "contact", reordered)
    named = register(forms, "acme", "contact", AGE_INTEGER, "FULL")

    expected = Registration("contact", 1, Mode.FULL, created=False, changed=False)
    assert again == named == expected
    assert history(forms) == FormHistory(FormHead("contact", 1, Mode.FULL), (AGE_INTEGER,))


def test_the_same_schema_with_another_mode_changes_the_mode_only(
    forms: InMemoryFormCatalog,
) -> None:
    register(forms, "acme", "contact", AGE_INTEGER)

    changed = register(forms, "acme", "contact", AGE_INTEGER, "FORWARD_TRANSITIVE")

    assert changed == Registration(
        "contact", 1, Mode.FORWARD_TRANSITIVE, created=False, changed=True
    )
    assert history(forms).schemas == (AGE_INTEGER,)


def test_under_none_any_valid_schema_is_the_next_version(forms: InMemoryFormCatalog) -> None:
    register(forms, "acme", "contact", AGE_INTEGER, "NONE")

    # Requiring a property that no earlier submission had: no mode but NONE allows it.
    second = register(forms, "acme", "contact", EMAIL_REQUIRED)

    assert second == Registration("contact", 2, Mode.NONE, created=False, changed=True)
    assert history(forms).schemas == (AGE_INTEGER, EMAIL_REQUIRED)


def test_a_compatible_schema_is_the_next_version(forms: InMemoryFormCatalog) -> None:
    register(forms, "acme", "contact", AGE_INTEGER)

    widened = register(forms, "acme", "contact", AGE_OR_NULL)

    assert widened == Registration("contact", 2, Mode.BACKWARD, created=False, changed=True)
    form = forms.load("acme", "contact")
    assert form is not None and form.schema.violations({"age": None}) == []


def test_an_incompatible_schema_is_refused_with_every_reason(
    forms: InMemoryFormCatalog,
) -> None:
    register(forms, "acme", "contact", AGE_INTEGER)

    with refused(409, "incompatible-schema") as refusal:
        register(forms, "acme", "contact", EMAIL_REQUIRED)

    assert refusal.pointers  # where each incompatibility is
    assert history(forms).schemas == (AGE_INTEGER,)


def test_a_new_mode_checks_the_new_schema_under_that_mode(forms: InMemoryFormCatalog) -> None:
    # Given a form under BACKWARD, and a schema that narrows it (only FORWARD allows that)
    register(forms, "acme", "contact", AGE_OR_NULL)

    with refused(409, "incompatible-schema"):
        register(forms, "acme", "contact", AGE_INTEGER)
    narrowed = register(forms, "acme", "contact", AGE_INTEGER, "FORWARD")

    assert narrowed == Registration("contact", 2, Mode.FORWARD, created=False, changed=True)


def test_a_transitive_mode_checks_against_every_version(forms: InMemoryFormCatalog) -> None:
    # Given v1 (age text) and v2 (age integer), registered under NONE
    register(forms, "acme", "contact", AGE_TEXT, "NONE")
    register(forms, "acme", "contact", AGE_INTEGER)

    # Then integer|null accepts all that v2 did, but not v1's text: refused when every
    # version counts, registered when only the latest does
    with refused(409, "incompatible-schema"):
        register(forms, "acme", "contact", AGE_OR_NULL, "BACKWARD_TRANSITIVE")
    assert history(forms).head == FormHead("contact", 2, Mode.NONE)
    third = register(forms, "acme", "contact", AGE_OR_NULL, "BACKWARD")
    assert third == Registration("contact", 3, Mode.BACKWARD, created=False, changed=True)


class RacingCatalog(InMemoryFormCatalog):
    """The in-memory catalog, letting another writer in once just before a version is written."""

    meanwhile: Any = None

    def add_version(self, *args: Any, **kwargs: Any) -> FormHead:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return super().add_version(*args, **kwargs)


def test_a_registration_whose_history_changed_meanwhile_checks_again() -> None:
    # Given a form at v1 (age integer), and a writer about to register age integer|null,
    # compatible with v1; just before it writes, another registers age integer|string
    forms = RacingCatalog()
    register(forms, "acme", "contact", AGE_INTEGER)
    forms.meanwhile = lambda: register(forms, "acme", "contact", AGE_OR_TEXT)

    # Then the writer's check against v1 does not count: against v2 its schema narrows
    # (a string age, valid under v2, is invalid under it), so it is refused
    with refused(409, "incompatible-schema"):
        register(forms, "acme", "contact", AGE_OR_NULL)
    assert history(forms).schemas == (AGE_INTEGER, AGE_OR_TEXT)


def test_a_registration_whose_history_changed_meanwhile_lands_after_it() -> None:
    # Given the same race under NONE: nothing to re-check, the writer takes the next version
    forms = RacingCatalog()
    register(forms, "acme", "contact", AGE_INTEGER, "NONE")
    forms.meanwhile = lambda: register(forms, "acme", "contact", AGE_OR_TEXT)

    landed = register(forms, "acme", "contact", EMAIL_REQUIRED)

    assert landed.version == 3
    assert history(forms).schemas == (AGE_INTEGER, AGE_OR_TEXT, EMAIL_REQUIRED)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ([{"type": "object"}], "a form's schema must be a JSON object (a JSON Schema, draft-07)"),
        (True, "a form's schema must be a JSON object (a JSON Schema, draft-07)"),
        (
            {"type": "object", "properties": {"email": {"type": 12}}},
            "not a draft-07 JSON Schema at /properties/email/type: "
            "12 is not valid under any of the given schemas",
        ),
        (
            {"type": "object", "required": "email"},
            "not a draft-07 JSON Schema at /required: 'email' is not of type 'array'",
        ),
        (
            {"type": "string"},
            'a form\'s schema must describe a JSON object: "type": "object" at its top',
        ),
        (
            {"properties": {"email": {"type": "string"}}},
            'a form\'s schema must describe a JSON object: "type": "object" at its top',
        ),
        (
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"},
            '"$schema" must be http://json-schema.org/draft-07/schema# (draft-07) or left out',
        ),
        (
            {"type": "object", "properties": {"a": {"$ref": "http://169.254.169.254/x"}}},
            "$ref at /properties/a/$ref must point inside the schema (start with #)",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"$id": "http://evil.example/", "type": "string"}},
            },
            "$id at /properties/a/$id: only the schema's top may have an $id",
        ),
    ],
)
def test_what_is_not_a_forms_schema_is_refused_and_writes_nothing(
    forms: InMemoryFormCatalog, schema: Any, problem: str
) -> None:
    assert form_schema_problem(schema) == problem
    with refused(422, "invalid-schema"):
        register(forms, "acme", "contact", schema)
    assert forms.history("acme", "contact") is None


def test_a_valid_forms_schema_has_no_problem() -> None:
    assert (
        form_schema_problem(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "$id": "https://example.com/contact.json",
                "type": "object",
                "definitions": {"email": {"type": "string", "format": "email"}},
                "properties": {"email": {"$ref": "#/definitions/email"}},
            }
        )
        is None
    )


def test_an_unknown_mode_is_refused_at_its_pointer(forms: InMemoryFormCatalog) -> None:
    for mode in ("backward", "SIDEWAYS", "", 3):
        with refused(422, "validation-failed") as refusal:
            register(forms, "acme", "contact", AGE_INTEGER, mode)  # type: ignore[arg-type]
        assert refusal.pointers == ["/compatibility"]
    assert forms.history("acme", "contact") is None


def test_a_form_id_outside_its_pattern_is_refused(forms: InMemoryFormCatalog) -> None:
    for form_id in ("Contact", "../contact", "", "a" * 65, "contact-"):
        with refused(400, "invalid-form-id"):
            register(forms, "acme", form_id, AGE_INTEGER)
    assert forms.heads("acme") == []


def test_one_tenants_form_is_not_anothers(forms: InMemoryFormCatalog) -> None:
    register(forms, "acme", "contact", AGE_INTEGER)

    theirs = register(forms, "globex", "contact", EMAIL_REQUIRED, "NONE")

    assert theirs == Registration("contact", 1, Mode.NONE, created=True, changed=True)
    assert history(forms).schemas == (AGE_INTEGER,)
