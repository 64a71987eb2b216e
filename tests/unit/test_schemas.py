"""The schema registry: every violation with its JSON pointer, and event data checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from formrelay.bootstrap import CONTACT_FORM_SCHEMA
from formrelay.domain.errors import EventSchemaError, UnknownEventTypeError
from formrelay.registry.schemas import (
    CompiledSchema,
    SchemaViolation,
    check_event_data,
    event_schema,
    schemas_root,
)

ORDER_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["email", "name"],
    "additionalProperties": False,
    "properties": {
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string", "minLength": 1},
        "qty": {"type": "integer", "minimum": 1},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku"],
                "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}$"}},
            },
        },
        "a/b~c": {"type": "boolean"},
    },
}


def pointers(violations: list[SchemaViolation]) -> list[str]:
    return [v.pointer for v in violations]


def test_a_valid_document_has_no_violations() -> None:
    assert CompiledSchema(ORDER_SCHEMA).violations({"email": "a@b.co", "name": "A"}) == []


def test_two_missing_required_fields_give_two_violations_at_their_own_pointers() -> None:
    violations = CompiledSchema(ORDER_SCHEMA).violations({})
    # Each at the field that is missing, not at the object that lacks it.
    assert [(v.pointer, v.message) for v in violations] == [
        ("/email", "'email' is a required property"),
        ("/name", "'name' is a required property"),
    ]


def test_a_missing_nested_field_is_reported_at_its_own_pointer() -> None:
    violations = CompiledSchema(ORDER_SCHEMA).violations(
        {"email": "a@b.co", "name": "A", "lines": [{"sku": "ABC"}, {}]}
    )
    assert [(v.pointer, v.message) for v in violations] == [
        ("/lines/1/sku", "'sku' is a required property")
    ]


def test_a_required_field_with_a_pointer_escape_in_its_name() -> None:
    schema = {"type": "object", "required": ["a/b", "t~x", "it's"]}
    assert pointers(CompiledSchema(schema).violations({"a/b": 1})) == ["/it's", "/t~0x"]


def test_a_present_field_is_not_reported_missing() -> None:
    # The parent failing `required` for one name says nothing of the names it has.
    schema = {"type": "object", "required": ["email", "name"]}
    assert pointers(CompiledSchema(schema).violations({"email": "a@b.co"})) == ["/name"]


DEPENDENT = {
    "type": "object",
    "properties": {"card": {"type": "string"}},
    "dependencies": {
        "card": ["billing_address", "expiry"],
        "gift": {"required": ["gift_message"]},
    },
}


def test_missing_dependencies_are_reported_at_their_own_pointers() -> None:
    violations = CompiledSchema(DEPENDENT).violations({"card": "4111", "expiry": "12/30"})
    assert [(v.pointer, v.message) for v in violations] == [
        ("/billing_address", "'billing_address' is a dependency of 'card'")
    ]


def test_a_schema_dependency_reports_its_missing_field_at_its_pointer() -> None:
    violations = CompiledSchema(DEPENDENT).violations({"gift": True})
    assert [(v.pointer, v.message) for v in violations] == [
        ("/gift_message", "'gift_message' is a required property")
    ]


def test_dependencies_of_an_absent_field_are_not_reported() -> None:
    assert CompiledSchema(DEPENDENT).violations({"expiry": "12/30"}) == []


def test_every_error_is_listed_with_its_pointer() -> None:
    document = {
        "email": "a@b.co",
        "name": "",
        "qty": 0,
        "lines": [{"sku": "ABC"}, {"sku": "abc"}, {}],
        "a/b~c": "yes",
    }
    violations = CompiledSchema(ORDER_SCHEMA).violations(document)
    assert sorted(pointers(violations)) == [
        "/a~1b~0c",  # RFC 6901 escapes "/" and "~"
        "/lines/1/sku",
        "/lines/2/sku",  # missing: at the field itself
        "/name",
        "/qty",
    ]
    assert all(v.message for v in violations)


def test_an_unexpected_property_is_reported() -> None:
    violations = CompiledSchema(ORDER_SCHEMA).violations(
        {"email": "a@b.co", "name": "A", "admin": True}
    )
    assert len(violations) == 1
    assert "admin" in violations[0].message


def test_a_non_object_document_is_one_violation_at_the_root() -> None:
    assert pointers(CompiledSchema(ORDER_SCHEMA).violations(["not", "an", "object"])) == [""]


@pytest.mark.parametrize("email", ["not-an-email", "@example.com", "a@b"])
def test_the_contact_form_refuses_bad_emails(email: str) -> None:
    violations = CompiledSchema(CONTACT_FORM_SCHEMA).violations({"email": email, "name": "A"})
    assert pointers(violations) == ["/email"]


def test_the_contact_form_accepts_a_plain_submission() -> None:
    doc = {"email": "ada@example.com", "name": "Ada", "message": "Hello"}
    assert CompiledSchema(CONTACT_FORM_SCHEMA).violations(doc) == []


def test_the_contact_form_limits_message_length() -> None:
    doc = {"email": "ada@example.com", "name": "Ada", "message": "x" * 5001}
    assert pointers(CompiledSchema(CONTACT_FORM_SCHEMA).violations(doc)) == ["/message"]


# -- event schemas ----------------------------------------------------------------

VALID_FAILED = {
    "destination_id": "crm",
    "delivery_id": "del-1",
    "attempts": 3,
    "reason": "final_failure",
}


def test_every_event_schema_on_disk_loads_and_compiles() -> None:
    files = sorted((schemas_root() / "events").glob("*/*.json"))
    assert {f.parent.name for f in files} >= {
        "submission.received",
        "delivery.attempted",
        "delivery.failed",
    }
    for path in files:
        schema = json.loads(path.read_text())
        assert schema["$id"].endswith(f"/events/{path.parent.name}/{path.name}")
        assert event_schema(path.parent.name, int(path.stem)).violations({}) != []


def test_valid_event_data_passes() -> None:
    check_event_data("delivery.failed", 1, VALID_FAILED)


def test_invalid_event_data_names_each_pointer() -> None:
    with pytest.raises(EventSchemaError) as caught:
        check_event_data("delivery.failed", 1, {**VALID_FAILED, "attempts": -1, "reason": "bored"})
    assert "/attempts" in str(caught.value)
    assert "/reason" in str(caught.value)


def test_missing_root_fields_are_reported_at_their_own_pointer() -> None:
    with pytest.raises(EventSchemaError, match="/reason: 'reason' is a required property"):
        check_event_data(
            "delivery.failed", 1, {k: v for k, v in VALID_FAILED.items() if k != "reason"}
        )


@pytest.mark.parametrize(
    "event_type, version",
    [
        ("delivery.teleported", 1),
        ("delivery.failed", 2),
        ("../forms", 1),
        ("..", 1),
        (".hidden", 1),
        ("", 1),
    ],
)
def test_unknown_event_types_and_versions_are_refused(event_type: str, version: int) -> None:
    with pytest.raises(UnknownEventTypeError):
        check_event_data(event_type, version, {})


def test_schemas_dir_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FORMRELAY_SCHEMAS_DIR", str(tmp_path))
    assert schemas_root() == tmp_path


def test_the_package_reads_the_repositorys_schemas() -> None:
    # formrelay/schemas is the one copy an installed package (the Lambda layer) carries:
    # in the source tree it is schemas/ itself, so an edited schema is the one read.
    repository = Path(__file__).resolve().parents[2] / "schemas"
    assert schemas_root().resolve() == repository
    assert sorted(p.relative_to(schemas_root()) for p in schemas_root().rglob("*.json")) == sorted(
        p.relative_to(repository) for p in repository.rglob("*.json")
    )
