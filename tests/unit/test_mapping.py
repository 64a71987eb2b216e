"""Field mapping: the body a destination receives, built from the submission."""

from __future__ import annotations

from typing import Any

import pytest

from formrelay.delivery.mapping import (
    is_missing,
    map_body,
    resolve_pointer,
    validate_mapping,
)

META = {
    "submission_id": "01890000-0000-7000-8000-000000000000",
    "form_id": "contact",
    "received_at": "2024-05-01T12:00:00Z",
    "tenant_id": "acme",
}
PAYLOAD: dict[str, Any] = {
    "name": "Ada",
    "contact": {"email": "ada@example.com", "phones": ["+1", "+2"]},
    "a/b": "slash",
    "m~n": "tilde",
    "~1": "literal tilde-one",
    "": "empty key",
    "zero": 0,
    "none": None,
}


def test_pointers_consts_and_meta_build_the_body() -> None:
    mapping = {
        "full_name": "/name",
        "email": "/contact/email",
        "second_phone": "/contact/phones/1",
        "source": {"const": {"system": "web", "tags": [1, 2]}},
        "id": {"meta": "submission_id"},
        "at": {"meta": "received_at"},
    }
    assert map_body(mapping, PAYLOAD, META) == {
        "full_name": "Ada",
        "email": "ada@example.com",
        "second_phone": "+2",
        "source": {"system": "web", "tags": [1, 2]},
        "id": META["submission_id"],
        "at": META["received_at"],
    }


def test_a_pointer_that_finds_nothing_leaves_the_field_out() -> None:
    mapping = {
        "gone": "/nope",
        "deep": "/name/first",
        "past_end": "/contact/phones/2",
        "not_index": "/contact/phones/x",
        "leading_zero": "/contact/phones/01",
        "kept": "/name",
    }
    assert map_body(mapping, PAYLOAD, META) == {"kept": "Ada"}


def test_falsy_values_are_kept() -> None:
    assert map_body({"z": "/zero", "n": "/none"}, PAYLOAD, META) == {"z": 0, "n": None}


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("/a~1b", "slash"),
        ("/m~0n", "tilde"),
        ("/~01", "literal tilde-one"),  # "~0" then "1": not "/"
        ("/", "empty key"),
        ("", PAYLOAD),
    ],
)
def test_rfc_6901_escapes(pointer: str, expected: Any) -> None:
    assert resolve_pointer(PAYLOAD, pointer) == expected


def test_missing_is_distinguishable_from_null() -> None:
    assert is_missing(resolve_pointer(PAYLOAD, "/absent"))
    assert not is_missing(resolve_pointer(PAYLOAD, "/none"))


def test_null_mapping_is_valid_and_means_the_default_body() -> None:
    assert validate_mapping(None) == []


@pytest.mark.parametrize(
    ("mapping", "needle"),
    [
        ([], "object or null"),
        ({}, "at least one"),
        ({"x": "name"}, "JSON pointer"),
        ({"x": "/a~2b"}, "'~'"),
        ({"x": {"meta": "secret"}}, "meta must be one of"),
        ({"x": {"const": 1, "meta": "form_id"}}, "source must be"),
        ({"x": 5}, "source must be"),
        ({"": "/name"}, "must not be empty"),
    ],
)
def test_invalid_mappings_say_why(mapping: Any, needle: str) -> None:
    errors = validate_mapping(mapping)
    assert errors and needle in errors[0]


def test_a_valid_mapping_has_no_errors() -> None:
    assert validate_mapping({"a": "/x/0", "b": {"const": None}, "c": {"meta": "tenant_id"}}) == []
