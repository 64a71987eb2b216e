"""Comparing two versions of a form: the checker's verdict under the form's mode or another,
each incompatibility proved by a witness that one version accepts and the other refuses."""

from __future__ import annotations

from typing import Any

import pytest

from formrelay.domain.errors import UnknownFormError
from formrelay.registry.errors import InvalidCompatibilityQueryError, UnknownFormVersionError
from formrelay.registry.memory import InMemoryFormCatalog
from formrelay.registry.registration import register
from formrelay.registry.schemas import CompiledSchema
from formrelay.registry.verdicts import Mode
from formrelay.registry.version_compatibility import (
    CompatibilityQuery,
    parse_compatibility_query,
    version_compatibility,
)

TENANT = "acme"
# v1 asks for an email and a name; v2 no longer requires the name (BACKWARD compatible:
# it accepts all v1 did); v3 requires a phone (not: v2's documents without one are refused).
V1: dict[str, Any] = {
    "type": "object",
    "required": ["email", "name"],
    "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
}
V2: dict[str, Any] = {**V1, "required": ["email"]}
V3: dict[str, Any] = {
    "type": "object",
    "required": ["email", "phone"],
    "properties": {**V1["properties"], "phone": {"type": "string"}},
}


@pytest.fixture
def forms() -> InMemoryFormCatalog:
    catalog = InMemoryFormCatalog()
    register(catalog, TENANT, "contact", V1)  # BACKWARD, the default
    register(catalog, TENANT, "contact", V2)
    register(catalog, TENANT, "contact", V3, "NONE")
    return catalog


def compare(forms: InMemoryFormCatalog, **query: str) -> dict[str, Any]:
    return version_compatibility(forms, TENANT, "contact", parse_compatibility_query(query))


def test_a_compatible_change_has_no_reason(forms: InMemoryFormCatalog) -> None:
    verdict = compare(forms, **{"from": "1", "to": "2", "mode": "BACKWARD"})

    assert verdict == {
        "form_id": "contact",
        "from": 1,
        "to": 2,
        "mode": "BACKWARD",
        "form_compatibility": "NONE",
        "compatible": True,
        "incompatibilities": [],
        "undecided": [],
    }


def test_an_incompatible_change_names_its_pointer_and_a_witness_the_versions_disagree_on(
    forms: InMemoryFormCatalog,
) -> None:
    verdict = compare(forms, **{"from": "2", "to": "3", "mode": "BACKWARD"})

    assert verdict["compatible"] is False
    by_pointer = {found["pointer"]: found for found in verdict["incompatibilities"]}
    # Two reasons: phone is required now, and a phone that is not a string is refused now
    assert set(by_pointer) == {"/required", "/properties/phone"}
    assert "'phone' is required now" in by_pointer["/required"]["reason"]
    for found in by_pointer.values():
        assert (found["direction"], found["accepted_by"], found["refused_by"]) == (
            "backward",
            2,
            3,
        )
        # Each witness is a document version 2 accepts and version 3 refuses
        assert CompiledSchema(V2).violations(found["witness"]) == []
        assert CompiledSchema(V3).violations(found["witness"]) != []


def test_without_a_mode_the_forms_own_is_used(forms: InMemoryFormCatalog) -> None:
    # The form is under NONE since version 3: nothing is checked
    verdict = compare(forms, **{"from": "2", "to": "3"})

    assert (verdict["mode"], verdict["compatible"], verdict["incompatibilities"]) == (
        "NONE",
        True,
        [],
    )


def test_forward_proves_the_reverse_direction(forms: InMemoryFormCatalog) -> None:
    # Under FORWARD an old reader (v1) must accept what v2 writes: a document without a
    # name, which v2 accepts and v1 refuses
    verdict = compare(forms, **{"from": "1", "to": "2", "mode": "FORWARD"})

    [found] = verdict["incompatibilities"]
    assert (found["pointer"], found["direction"]) == ("/required", "forward")
    assert (found["accepted_by"], found["refused_by"]) == (2, 1)
    assert CompiledSchema(V2).violations(found["witness"]) == []
    assert CompiledSchema(V1).violations(found["witness"]) != []


def test_full_checks_both_directions(forms: InMemoryFormCatalog) -> None:
    verdict = compare(forms, **{"from": "1", "to": "2", "mode": "FULL"})

    assert verdict["compatible"] is False
    assert [found["direction"] for found in verdict["incompatibilities"]] == ["forward"]


def test_the_later_version_may_be_named_first(forms: InMemoryFormCatalog) -> None:
    # Would v1 do as the version after v2 (a change undone)? Not BACKWARD: it requires a name
    verdict = compare(forms, **{"from": "2", "to": "1", "mode": "BACKWARD"})

    [found] = verdict["incompatibilities"]
    assert (found["accepted_by"], found["refused_by"]) == (2, 1)


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"to": "2"}, "from is required"),
        ({"from": "1"}, "to is required"),
        ({"from": "1", "to": "1"}, "two different versions"),
        ({"from": "01", "to": "2"}, "from must be a version number"),
        ({"from": "1", "to": "2.0"}, "to must be a version number"),
        ({"from": "1", "to": "-2"}, "to must be a version number"),
        ({"from": "\u00b2", "to": "1"}, "from must be a version number"),
        ({"from": "1,2", "to": "3"}, "from must be a version number"),  # a key sent twice
        ({"from": "", "to": "3"}, "from must be a version number"),
        ({"from": "1", "to": "9999999"}, "to must be a version number"),
        ({"from": "1", "to": "2", "mode": "backward"}, "mode must be one of NONE"),
        ({"from": "1", "to": "2", "mode": ""}, "mode must be one of NONE"),
        ({"from": "1", "to": "2", "tenant_id": "rival"}, "unknown query parameters: tenant_id"),
    ],
)
def test_a_malformed_query_is_refused_before_anything_is_read(
    query: dict[str, str], detail: str
) -> None:
    with pytest.raises(InvalidCompatibilityQueryError, match=detail):
        parse_compatibility_query(query)


def test_an_unknown_form_or_version_is_absent(forms: InMemoryFormCatalog) -> None:
    with pytest.raises(UnknownFormError, match="no such form"):
        version_compatibility(forms, TENANT, "survey", CompatibilityQuery(1, 2))
    with pytest.raises(UnknownFormError, match="no such form"):
        version_compatibility(forms, TENANT, "Not A Form", CompatibilityQuery(1, 2))
    with pytest.raises(UnknownFormVersionError):
        version_compatibility(forms, TENANT, "contact", CompatibilityQuery(1, 4))
    with pytest.raises(UnknownFormVersionError):
        version_compatibility(forms, TENANT, "contact", CompatibilityQuery(4, 1))


def test_another_tenants_form_is_absent(forms: InMemoryFormCatalog) -> None:
    with pytest.raises(UnknownFormError):
        version_compatibility(forms, "rival", "contact", CompatibilityQuery(1, 2, Mode.FULL))
