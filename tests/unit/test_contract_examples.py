"""Examples generated from a form's schema for `formrelay contract-test`, and the schema
problems met on the way (no API involved)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from formrelay.bootstrap import CONTACT_FORM_SCHEMA
from formrelay.cli.contract_examples import (
    FORMAT,
    UNSATISFIABLE,
    UNSUPPORTED,
    generate,
    ingest_refusal,
)
from formrelay.domain.strict_json import MAX_DEPTH
from formrelay.intake.submissions import MAX_SUBMISSION_BYTES


def _object_with(prop: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["a"], "properties": {"a": prop}}


def test_examples_are_distinct_valid_objects_the_ingest_takes_and_the_seed_fixes_them() -> None:
    # Given the contact form's schema, when 20 examples are generated twice with one seed
    first = generate(CONTACT_FORM_SCHEMA, 20, seed=7)
    again = generate(CONTACT_FORM_SCHEMA, 20, seed=7)

    # Then there are 20, distinct, each valid, each JSON the ingest accepts, and no problem
    assert len(first.examples) == 20
    assert len({json.dumps(e, sort_keys=True) for e in first.examples}) == 20
    validator = jsonschema.Draft7Validator(
        CONTACT_FORM_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    for example in first.examples:
        assert list(validator.iter_errors(example)) == []
        assert ingest_refusal(example) is None
    assert first.problems == []
    # and the same seed gave the same examples; another seed gives others
    assert again.examples == first.examples
    assert generate(CONTACT_FORM_SCHEMA, 20, seed=8).examples != first.examples


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "minLength": 5, "maxLength": 2},
        _object_with({"type": "string", "minLength": 5, "maxLength": 2}),
        _object_with({"type": "integer", "minimum": 3, "maximum": 1}),
        {"type": "object", "not": {}},
    ],
    ids=["string-bounds", "property-bounds", "integer-bounds", "not-anything"],
)
def test_an_unsatisfiable_schema_is_reported_with_no_example(schema: dict[str, Any]) -> None:
    found = generate(schema, 10, seed=0)
    assert found.examples == []
    assert [p.kind for p in found.problems] == [UNSATISFIABLE]


def test_a_schema_that_allows_no_object_is_reported_as_giving_no_submission() -> None:
    found = generate({"type": "string"}, 5, seed=0)
    assert found.examples == []
    [problem] = found.problems
    assert problem.kind == UNSATISFIABLE
    assert "not an object" in problem.detail


def test_an_unknown_format_is_reported_where_it_is_and_examples_still_come() -> None:
    schema = {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "string", "format": "frobnicate"}, "b": {"format": "email"}},
    }
    found = generate(schema, 5, seed=0)
    assert len(found.examples) == 5
    [problem] = found.problems
    assert (problem.kind, problem.pointer) == (FORMAT, "/properties/a")
    assert "frobnicate" in problem.detail


@pytest.mark.parametrize(
    "prop",
    [{"$ref": "https://schemas.example.com/address.json"}, {"type": "string", "pattern": "(?P<x"}],
    ids=["remote-ref", "unreadable-pattern"],
)
def test_what_hypothesis_jsonschema_cannot_read_is_reported_unsupported(
    prop: dict[str, Any],
) -> None:
    found = generate(_object_with(prop), 5, seed=0)
    assert found.examples == []
    assert [p.kind for p in found.problems] == [UNSUPPORTED]


def _nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for _ in range(depth):
        document = {"a": document}
    return document


@pytest.mark.parametrize(
    "document",
    [
        ["not", "an", "object"],
        {"n": float("nan")},
        {"n": float("inf")},
        {"n": 10**120},
        {"s": "\ud800"},
        _nested(MAX_DEPTH + 1),
        {f"k{i}": i for i in range(1001)},
        {"s": "x" * MAX_SUBMISSION_BYTES},
    ],
    ids=["list", "nan", "infinity", "long-int", "surrogate", "deep", "many-keys", "large"],
)
def test_documents_the_ingest_would_not_take_as_json_are_left_out(document: Any) -> None:
    assert ingest_refusal(document) is not None


def test_a_plain_submission_is_taken() -> None:
    assert ingest_refusal({"email": "ada@example.com", "name": "Ada", "n": 1.5}) is None
