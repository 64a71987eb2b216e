"""The compatibility checker, rule by rule: verdict, pointer, and a re-checked witness.

Every witness is validated again here with jsonschema (Draft 7, the registry's
FormatChecker): the earlier version accepts it and the new one refuses it (backward),
or the reverse (forward).
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from formrelay.registry import patterns
from formrelay.registry.compatibility import (
    NO_WITNESS,
    Incompatibility,
    Mode,
    Verdict,
    check,
    diff,
)
from formrelay.registry.errors import InvalidSchemaError

FORMATS = jsonschema.Draft7Validator.FORMAT_CHECKER


def valid(schema: Any, instance: Any) -> bool:
    return jsonschema.Draft7Validator(schema, format_checker=FORMATS).is_valid(instance)


def assert_witness(old: Any, new: Any, found: Incompatibility) -> None:
    """The witness tells the versions apart in the finding's direction."""
    assert found.witness is not NO_WITNESS
    accepted, refused = (old, new) if found.direction == "backward" else (new, old)
    assert valid(accepted, found.witness), found
    assert not valid(refused, found.witness), found


def incompatible_at(old: Any, new: Any, mode: str, pointer: str) -> Verdict:
    """The verdict is incompatible, with an incompatibility at pointer, every witness re-checked."""
    verdict = diff(old, new, mode)
    assert verdict.compatible is False, verdict
    assert pointer in [i.pointer for i in verdict.incompatibilities], verdict
    for found in verdict.incompatibilities:
        assert_witness(old, new, found)
    return verdict


def compatible(old: Any, new: Any, mode: str = "BACKWARD") -> None:
    verdict = diff(old, new, mode)
    assert verdict.compatible is True, verdict


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


# -- modes --------------------------------------------------------------------------------


def test_none_is_always_compatible() -> None:
    # Given a change that breaks everything, When checked under NONE, Then it passes.
    assert diff({"type": "string"}, {"type": "integer"}, Mode.NONE).compatible is True


def test_a_first_version_is_compatible() -> None:
    assert check([], {"type": "string"}, "FULL_TRANSITIVE").compatible is True


def test_backward_and_forward_are_mirror_images() -> None:
    # Given a maxLength lowered, Then BACKWARD fails (old long strings) and FORWARD passes.
    old, new = {"type": "string", "maxLength": 100}, {"type": "string", "maxLength": 50}
    verdict = incompatible_at(old, new, "BACKWARD", "/maxLength")
    assert verdict.incompatibilities[0].reason == (
        "maxLength lowered from 100 to 50: longer strings accepted before are refused now"
    )
    compatible(old, new, "FORWARD")
    forward = incompatible_at(new, old, "FORWARD", "/maxLength")
    assert forward.incompatibilities[0].direction == "forward"


def test_full_reports_both_directions() -> None:
    verdict = incompatible_at({"type": "integer"}, {"type": "string"}, "FULL", "/type")
    assert {i.direction for i in verdict.incompatibilities} == {"backward", "forward"}


HISTORY = [
    {"type": "object", "properties": {"n": {"type": "integer", "maximum": 10}}},
    {"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}},
]
V3 = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}, "title": "v3"}


def test_non_transitive_compares_with_the_latest_version_only() -> None:
    # Given v1 (max 10), v2 (max 5), When v3 (max 5) is checked BACKWARD, Then it passes.
    assert check(HISTORY, V3, "BACKWARD").compatible is True


def test_transitive_compares_with_every_earlier_version() -> None:
    verdict = check(HISTORY, V3, "BACKWARD_TRANSITIVE")
    assert verdict.compatible is False
    (found,) = verdict.incompatibilities
    assert (found.pointer, found.against_version) == ("/properties/n/maximum", 1)
    assert_witness(HISTORY[0], V3, found)


def test_every_incompatibility_is_reported() -> None:
    old = obj({"a": {"type": "string"}, "b": {"type": "integer"}})
    new = obj({"a": {"type": "string", "maxLength": 3}, "b": {"type": "integer", "minimum": 0}})
    verdict = incompatible_at(old, new, "BACKWARD", "/properties/a/maxLength")
    assert {i.pointer for i in verdict.incompatibilities} == {
        "/properties/a/maxLength",
        "/properties/b/minimum",
    }
    assert verdict.as_dict()["compatible"] is False


def test_pointers_name_the_new_schemas_keyword_else_the_previous_ones() -> None:
    by_reference = {
        "definitions": {"short": {"type": "string", "maxLength": 5}},
        "properties": {"a": {"$ref": "#/definitions/short"}},
    }
    inline = {"properties": {"a": {"type": "string", "maxLength": 3}}}
    incompatible_at(by_reference, inline, "BACKWARD", "/properties/a/maxLength")
    incompatible_at(inline, by_reference, "FORWARD", "/definitions/short/maxLength")
    # The new version dropped the bound: only the previous one has the keyword.
    unbounded = {"properties": {"a": {"type": "string"}}}
    incompatible_at(inline, unbounded, "FORWARD", "/properties/a/maxLength")


# -- types --------------------------------------------------------------------------------


def test_integer_to_number_widens() -> None:
    compatible({"type": "integer"}, {"type": "number"})


def test_number_to_integer_narrows_with_a_fraction_witness() -> None:
    verdict = incompatible_at({"type": "number"}, {"type": "integer"}, "BACKWARD", "/type")
    assert verdict.incompatibilities[0].witness == 0.5


def test_a_type_list_may_widen_and_narrow() -> None:
    compatible({"type": "string"}, {"type": ["string", "null"]})
    verdict = incompatible_at({"type": ["string", "null"]}, {"type": "string"}, "BACKWARD", "/type")
    assert verdict.incompatibilities[0].witness is None


def test_integral_numbers_stay_integers() -> None:
    # Given number with multipleOf 1 (only integral values), Then integer accepts them all.
    compatible({"type": "number", "multipleOf": 1}, {"type": "integer"})


# -- enum and const ---------------------------------------------------------------------


def test_enum_growing_is_backward_compatible_and_shrinking_is_not() -> None:
    compatible({"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]})
    verdict = incompatible_at({"enum": ["a", "b"]}, {"enum": ["a"]}, "BACKWARD", "/enum")
    assert verdict.incompatibilities[0].witness == "b"


def test_const_into_a_type_and_a_type_into_an_enum() -> None:
    compatible({"const": "x"}, {"type": "string", "maxLength": 1})
    incompatible_at({"type": "string"}, {"enum": ["a"]}, "BACKWARD", "/enum")
    compatible({"type": "boolean"}, {"enum": [True, False, None]})


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "pointer"),
    [
        ({"minimum": 0}, {"minimum": 1}, "/minimum"),
        ({"maximum": 10}, {"maximum": 9.5}, "/maximum"),
        ({"minimum": 0}, {"exclusiveMinimum": 0}, "/exclusiveMinimum"),
        ({"exclusiveMaximum": 10}, {"exclusiveMaximum": 9}, "/exclusiveMaximum"),
        ({"multipleOf": 0.1}, {"multipleOf": 0.2}, "/multipleOf"),
        ({}, {"multipleOf": 3}, "/multipleOf"),
    ],
)
def test_numeric_bounds_that_narrow(old: Any, new: Any, pointer: str) -> None:
    incompatible_at({"type": "number", **old}, {"type": "number", **new}, "BACKWARD", pointer)


def test_numeric_bounds_that_widen() -> None:
    compatible({"type": "number", "minimum": 1}, {"type": "number", "minimum": 0})
    compatible({"type": "number", "multipleOf": 0.2}, {"type": "number", "multipleOf": 0.1})
    compatible({"type": "number", "exclusiveMaximum": 5}, {"type": "number", "maximum": 5})


def test_integer_bounds_compare_over_the_integers() -> None:
    # Given integers above 0 (exclusive), Then "minimum 1" accepts every one of them.
    compatible({"type": "integer", "exclusiveMinimum": 0}, {"type": "integer", "minimum": 1})
    compatible({"type": "integer", "multipleOf": 4}, {"type": "integer", "multipleOf": 2})
    incompatible_at(
        {"type": "integer", "multipleOf": 2},
        {"type": "integer", "multipleOf": 4},
        "BACKWARD",
        "/multipleOf",
    )


# -- strings ----------------------------------------------------------------------------


def test_string_lengths() -> None:
    incompatible_at(
        {"type": "string"}, {"type": "string", "minLength": 2}, "BACKWARD", "/minLength"
    )
    compatible({"type": "string", "minLength": 2}, {"type": "string", "minLength": 1})
    compatible({"type": "string", "maxLength": 5}, {"type": "string"})


def test_patterns_are_compared_as_languages() -> None:
    # Given [a-z]+ narrowed to [a-c]+, Then "d" was accepted and is refused now.
    verdict = incompatible_at(
        {"type": "string", "pattern": "^[a-z]+$"},
        {"type": "string", "pattern": "^[a-c]+$"},
        "BACKWARD",
        "/pattern",
    )
    assert verdict.incompatibilities[0].witness == "d"
    compatible({"type": "string", "pattern": "^[a-c]+$"}, {"type": "string", "pattern": "^[a-z]+$"})
    # Unanchored search: "ab" anywhere is wider than "^ab".
    compatible({"type": "string", "pattern": "^ab"}, {"type": "string", "pattern": "ab"})


def test_formats() -> None:
    verdict = incompatible_at(
        {"type": "string"}, {"type": "string", "format": "email"}, "BACKWARD", "/format"
    )
    assert verdict.incompatibilities[0].witness == "not-an-email"
    compatible({"type": "string", "format": "email"}, {"type": "string"})
    incompatible_at(
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "date"},
        "BACKWARD",
        "/format",
    )


# -- objects: properties, required, content models ------------------------------------


def test_adding_a_required_property_with_a_default_is_still_incompatible() -> None:
    old = obj({"name": {"type": "string"}})
    new = obj(
        {"name": {"type": "string"}, "age": {"type": "integer", "default": 0}}, required=["age"]
    )
    verdict = incompatible_at(old, new, "BACKWARD", "/required")
    (found,) = [i for i in verdict.incompatibilities if i.pointer == "/required"]
    assert "a default does not help: validation does not fill it in" in found.reason
    assert found.witness == {}


def test_dropping_a_requirement_is_backward_compatible() -> None:
    compatible(obj({"a": {}}, required=["a"]), obj({"a": {}}))
    incompatible_at(obj({"a": {}}, required=["a"]), obj({"a": {}}), "FORWARD", "/required")


def test_an_optional_property_added_to_a_closed_model_is_backward_compatible() -> None:
    old = obj({"a": {"type": "string"}}, additionalProperties=False)
    new = obj({"a": {"type": "string"}, "b": {"type": "integer"}}, additionalProperties=False)
    compatible(old, new, "BACKWARD")
    # ...but not forward: the previous version refuses the new property.
    incompatible_at(old, new, "FORWARD", "/properties/b")


def test_an_optional_property_added_to_an_open_model_narrows_what_it_may_hold() -> None:
    old = obj({"a": {"type": "string"}})
    new = obj({"a": {"type": "string"}, "b": {"type": "integer"}})
    verdict = incompatible_at(old, new, "BACKWARD", "/properties/b")
    (found,) = verdict.incompatibilities
    assert set(found.witness) == {"b"} and not isinstance(found.witness["b"], int)


def test_an_unconstrained_property_added_to_an_open_model_is_compatible() -> None:
    old = obj({"a": {"type": "string"}})
    compatible(old, obj({"a": {"type": "string"}, "b": {}}), "FULL")
    compatible(old, obj({"a": {"type": "string"}, "b": True}), "FULL")


def test_removing_a_property_from_a_closed_model_refuses_it() -> None:
    old = obj({"a": {}, "b": {}}, additionalProperties=False)
    verdict = incompatible_at(
        old, obj({"a": {}}, additionalProperties=False), "BACKWARD", "/additionalProperties"
    )
    assert "b" in verdict.incompatibilities[0].witness


def test_closing_an_open_model() -> None:
    old = obj({"a": {}})
    incompatible_at(
        old, obj({"a": {}}, additionalProperties=False), "BACKWARD", "/additionalProperties"
    )
    compatible(old, obj({"a": {}}, additionalProperties=False), "FORWARD")


PARTIAL = obj({"a": {"type": "string"}}, additionalProperties={"type": "string"})


def test_full_with_an_optional_property_in_a_partially_open_model() -> None:
    # Given other properties must be strings, When b is added as an integer, Then both
    # directions break: {"b": "x"} was accepted before, {"b": 0} the old version refuses.
    new = obj(
        {"a": {"type": "string"}, "b": {"type": "integer"}}, additionalProperties={"type": "string"}
    )
    verdict = incompatible_at(PARTIAL, new, "FULL", "/properties/b")
    assert {i.direction for i in verdict.incompatibilities} == {"backward", "forward"}
    # When b is added with the very schema of the other properties, Then FULL holds.
    same = obj(
        {"a": {"type": "string"}, "b": {"type": "string"}}, additionalProperties={"type": "string"}
    )
    compatible(PARTIAL, same, "FULL")


def test_full_with_pattern_properties() -> None:
    old = {
        "type": "object",
        "patternProperties": {"^x_": {"type": "string"}},
        "additionalProperties": False,
    }
    narrowed = {**old, "properties": {"x_a": {"type": "string", "maxLength": 3}}}
    verdict = incompatible_at(old, narrowed, "FULL", "/properties/x_a")
    assert verdict.incompatibilities[0].witness == {"x_a": "aaaa"}
    compatible(old, {**old, "properties": {"x_a": {"type": "string"}}}, "FULL")
    # A name outside the pattern in a closed model: backward compatible, forward not.
    other = {**old, "properties": {"y": {"type": "integer"}}}
    compatible(old, other, "BACKWARD")
    incompatible_at(old, other, "FORWARD", "/properties/y")


def test_nested_properties_point_into_the_schema() -> None:
    old = obj({"address": obj({"zip": {"type": "string", "maxLength": 10}})})
    new = obj({"address": obj({"zip": {"type": "string", "maxLength": 5}})})
    verdict = incompatible_at(old, new, "BACKWARD", "/properties/address/properties/zip/maxLength")
    assert verdict.incompatibilities[0].witness == {"address": {"zip": "a" * 6}}


def test_the_witness_carries_what_the_narrower_schema_requires() -> None:
    old = obj(
        {"id": {"type": "integer", "minimum": 7}, "n": {"type": "number"}}, required=["id", "n"]
    )
    new = obj(
        {"id": {"type": "integer", "minimum": 7}, "n": {"type": "integer"}}, required=["id", "n"]
    )
    verdict = incompatible_at(old, new, "BACKWARD", "/properties/n/type")
    assert verdict.incompatibilities[0].witness == {"id": 7, "n": 0.5}


def test_property_counts() -> None:
    incompatible_at(
        {"type": "object"}, {"type": "object", "minProperties": 1}, "BACKWARD", "/minProperties"
    )
    incompatible_at(
        {"type": "object"}, {"type": "object", "maxProperties": 1}, "BACKWARD", "/maxProperties"
    )
    closed = obj({"a": {}, "b": {}}, additionalProperties=False)
    compatible(closed, {**closed, "maxProperties": 2})
    compatible(obj({"a": {}}, required=["a"]), {"type": "object", "minProperties": 1})


# -- arrays -----------------------------------------------------------------------------


def test_items_as_a_schema() -> None:
    old = {"type": "array", "items": {"type": "integer"}}
    verdict = incompatible_at(
        old,
        {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "BACKWARD",
        "/items/minimum",
    )
    assert verdict.incompatibilities[0].witness == [-1]
    compatible(old, {"type": "array", "items": {"type": "number"}})


def test_items_as_a_tuple_with_additional_items() -> None:
    old = {"type": "array", "items": [{"type": "string"}], "additionalItems": False}
    longer = {
        "type": "array",
        "items": [{"type": "string"}, {"type": "integer"}],
        "additionalItems": False,
    }
    compatible(old, longer, "BACKWARD")
    incompatible_at(old, longer, "FORWARD", "/additionalItems")
    open_tail = {"type": "array", "items": [{"type": "string"}]}
    incompatible_at(
        open_tail,
        {**open_tail, "additionalItems": {"type": "integer"}},
        "BACKWARD",
        "/additionalItems/type",
    )
    # A tuple against a plain items schema: every position must fit.
    compatible(old, {"type": "array", "items": {"type": "string"}})


def test_array_counts_and_uniqueness() -> None:
    incompatible_at({"type": "array"}, {"type": "array", "minItems": 1}, "BACKWARD", "/minItems")
    verdict = incompatible_at(
        {"type": "array"}, {"type": "array", "maxItems": 2}, "BACKWARD", "/maxItems"
    )
    assert len(verdict.incompatibilities[0].witness) == 3
    unique = incompatible_at(
        {"type": "array", "items": {"type": "integer"}},
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
        "BACKWARD",
        "/uniqueItems",
    )
    first, second = unique.incompatibilities[0].witness
    assert first == second
    compatible(
        {"type": "array", "maxItems": 1}, {"type": "array", "maxItems": 1, "uniqueItems": True}
    )


# -- invalid schemas --------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "strin"},
        {"minLength": -1},
        {"pattern": "(("},
        {"$ref": "#/definitions/missing"},
        # A reference loop that never reaches a property or item: validators recurse forever.
        {"not": {"allOf": [{"$ref": "#"}]}},
        # Another draft: fastjsonschema would validate it by that draft's rules.
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "string"},
        # jsonschema fails on a boolean items beside additionalItems.
        {"type": "array", "items": True, "additionalItems": False},
    ],
)
def test_an_invalid_schema_is_refused_with_where_and_what(schema: Any) -> None:
    with pytest.raises(InvalidSchemaError, match="new schema"):
        diff({"type": "string"}, schema, "BACKWARD")
    with pytest.raises(InvalidSchemaError, match="previous"):
        diff(schema, {"type": "string"}, "NONE")


# -- combinators ------------------------------------------------------------------------


def test_all_of_on_either_side() -> None:
    base = {"type": "string"}
    compatible({"allOf": [base, {"maxLength": 3}]}, {"allOf": [base, {"maxLength": 5}]})
    incompatible_at(
        {"allOf": [base]}, {"allOf": [base, {"maxLength": 5}]}, "BACKWARD", "/allOf/1/maxLength"
    )


def test_any_of_alternatives_are_matched_one_by_one_and_by_type() -> None:
    compatible({"type": "integer"}, {"anyOf": [{"type": "string"}, {"type": "number"}]})
    compatible(
        {"type": ["string", "integer"]}, {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    )
    verdict = incompatible_at(
        {"anyOf": [{"type": "string"}, {"type": "number"}]},
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "BACKWARD",
        "/anyOf",
    )
    assert verdict.incompatibilities[0].witness == 0.5


def test_one_of_kept_as_it_was_is_compatible() -> None:
    choice = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    compatible(choice, {**choice, "title": "renamed"}, "FULL")


def test_one_of_with_disjoint_alternatives() -> None:
    kind_a = obj({"kind": {"const": "a"}}, required=["kind"])
    kind_b = obj({"kind": {"const": "b"}}, required=["kind"])
    compatible(kind_a, {"oneOf": [kind_a, kind_b]})


def test_one_of_whose_alternatives_overlap_on_a_value_is_shown_by_it() -> None:
    overlapping = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "integer", "maximum": 0}]}
    verdict = incompatible_at({"type": "integer"}, overlapping, "BACKWARD", "/oneOf")
    assert verdict.incompatibilities[0].witness == 0  # matches both alternatives


def test_not() -> None:
    compatible({"type": "string"}, {"not": {"type": "integer"}})
    verdict = incompatible_at(
        {"type": "integer"}, {"not": {"type": "integer", "minimum": 5}}, "BACKWARD", "/not"
    )
    assert verdict.incompatibilities[0].witness == 5
    # The narrower side negating more is included.
    compatible({"not": {"type": ["integer", "string"]}}, {"not": {"type": "integer"}})


def test_if_then_else_kept_or_added() -> None:
    conditional = {"if": obj({"a": {"const": 1}}, required=["a"]), "then": {"required": ["b"]}}
    compatible(conditional, {**conditional, "title": "t"}, "FULL")
    verdict = incompatible_at({"type": "object"}, conditional, "BACKWARD", "/if")
    assert verdict.incompatibilities[0].witness == {"a": 1}


# -- undecided ---------------------------------------------------------------------------


def test_patterns_outside_the_modelled_subset_are_undecided_without_a_witness() -> None:
    # Lookaheads cannot be compared; and no candidate string tells these two apart.
    old = {"type": "string", "pattern": "^(?=.*[0-9])[a-z0-9]{8}$"}
    new = {"type": "string", "pattern": "^(?=.*[0-9])[a-z0-9]{8}$|^x$"}
    verdict = diff(old, new, "BACKWARD")
    assert verdict.compatible is None
    assert [u.pointer for u in verdict.undecided] == ["/pattern"]


def test_a_format_only_one_validator_checks_is_undecided() -> None:
    verdict = diff({"type": "string"}, {"type": "string", "format": "hostname"}, "BACKWARD")
    assert verdict.compatible is None
    assert verdict.undecided[0].pointer == "/format"


def test_an_unknown_format_is_undecided() -> None:
    verdict = diff({"type": "string"}, {"type": "string", "format": "tenant-code"}, "BACKWARD")
    assert (verdict.compatible, verdict.undecided[0].pointer) == (None, "/format")


def test_a_reference_to_another_document_is_undecided() -> None:
    verdict = diff({"type": "string"}, {"$ref": "https://example.com/other.json"}, "BACKWARD")
    assert verdict.compatible is None
    assert verdict.as_dict()["undecided"][0]["pointer"] == ""


def test_content_keywords_only_one_validator_checks_are_undecided() -> None:
    new = {"type": "string", "contentMediaType": "application/json"}
    verdict = diff({"type": "string"}, new, "BACKWARD")
    assert (verdict.compatible, verdict.undecided[0].pointer) == (None, "/contentMediaType")


def test_a_reference_to_an_anchor_is_undecided() -> None:
    new = obj({"a": {"$ref": "#code"}}, definitions={"code": {"$id": "#code", "type": "string"}})
    verdict = diff(obj({"a": {"type": "string"}}), new, "BACKWARD")
    assert verdict.compatible is None
    assert verdict.undecided[0].pointer == "/properties/a"


def test_not_with_an_overlap_no_candidate_finds_is_undecided() -> None:
    verdict = diff(
        {"type": "string", "minLength": 30},
        {"not": {"type": "string", "pattern": "(?=q)"}},
        "BACKWARD",
    )
    assert verdict.compatible is None
    assert verdict.undecided[0].pointer == "/not"


def test_a_tiny_budget_is_undecided_not_compatible() -> None:
    big = obj({f"p{i}": {"type": "string", "maxLength": i + 1} for i in range(60)})
    verdict = check([big], {**big, "title": "t", "required": ["p0"]}, "FULL", budget_seconds=0.0)
    assert verdict.compatible is None
    assert "budget" in verdict.undecided[0].reason


# -- $ref and recursion -----------------------------------------------------------------


def linked_list(value: dict[str, Any]) -> dict[str, Any]:
    node = obj({"value": value, "next": {"$ref": "#/definitions/node"}}, required=["value"])
    return {"definitions": {"node": node}, "$ref": "#/definitions/node"}


def test_a_recursive_linked_list_is_compatible_with_itself_and_a_widening() -> None:
    compatible(linked_list({"type": "integer"}), linked_list({"type": "integer"}), "FULL")
    compatible(linked_list({"type": "integer"}), linked_list({"type": "number"}))


def test_a_narrowed_leaf_in_a_recursive_list_is_found_with_a_whole_witness() -> None:
    verdict = incompatible_at(
        linked_list({"type": "integer"}),
        linked_list({"type": "integer", "minimum": 0}),
        "BACKWARD",
        "/definitions/node/properties/value/minimum",
    )
    assert verdict.incompatibilities[0].witness == {"value": -1}


def tree(label: dict[str, Any]) -> dict[str, Any]:
    return obj({"label": label, "children": {"type": "array", "items": {"$ref": "#"}}})


def test_a_tree_through_the_root_reference() -> None:
    compatible(tree({"type": "string"}), tree({"type": "string"}), "FULL")
    verdict = incompatible_at(
        tree({"type": "string"}),
        tree({"type": "string", "maxLength": 3}),
        "BACKWARD",
        "/properties/label/maxLength",
    )
    assert verdict.incompatibilities[0].witness == {"label": "aaaa"}
    compatible(tree({"type": "string", "maxLength": 3}), tree({"type": "string"}))


def test_a_reference_into_properties() -> None:
    old = obj({"a": {"type": "string"}, "b": {"$ref": "#/properties/a"}})
    new = obj({"a": {"type": "string", "maxLength": 2}, "b": {"$ref": "#/properties/a"}})
    verdict = incompatible_at(old, new, "BACKWARD", "/properties/a/maxLength")
    assert {tuple(i.witness) for i in verdict.incompatibilities} <= {("a",), ("b",)}


# -- boolean schemas --------------------------------------------------------------------


def test_boolean_schemas_at_the_root() -> None:
    compatible({"type": "string"}, True)
    compatible(False, {"type": "string"})
    compatible(True, {})
    incompatible_at(True, {"type": "string"}, "BACKWARD", "/type")
    incompatible_at(True, False, "BACKWARD", "")


def test_boolean_schemas_inside() -> None:
    old = obj({"a": True, "b": False})
    compatible(old, obj({"a": {}, "b": {"type": "string"}}))
    incompatible_at(old, obj({"a": False, "b": False}), "BACKWARD", "/properties/a")
    compatible({"type": "array", "items": False}, {"type": "array", "maxItems": 0})


# -- dependencies, propertyNames, contains ---------------------------------------------


def test_property_dependencies() -> None:
    verdict = incompatible_at(
        {"type": "object"},
        {"type": "object", "dependencies": {"card": ["cvc"]}},
        "BACKWARD",
        "/dependencies/card",
    )
    assert "card" in verdict.incompatibilities[0].witness
    compatible(
        {"type": "object", "dependencies": {"card": ["cvc", "exp"]}},
        {"type": "object", "dependencies": {"card": ["cvc"]}},
    )


def test_schema_dependencies() -> None:
    added = {
        "type": "object",
        "dependencies": {"card": obj({"cvc": {"type": "string"}}, required=["cvc"])},
    }
    incompatible_at({"type": "object"}, added, "BACKWARD", "/dependencies/card")
    compatible(added, {"type": "object"})


def test_property_names() -> None:
    verdict = incompatible_at(
        {"type": "object"},
        {"type": "object", "propertyNames": {"maxLength": 3}},
        "BACKWARD",
        "/propertyNames",
    )
    assert all(len(name) > 3 for name in verdict.incompatibilities[0].witness)
    closed = obj({"abc": {}}, additionalProperties=False)
    compatible(closed, {**closed, "propertyNames": {"maxLength": 3}})


def test_contains() -> None:
    verdict = incompatible_at(
        {"type": "array"},
        {"type": "array", "contains": {"type": "integer"}},
        "BACKWARD",
        "/contains",
    )
    assert verdict.incompatibilities[0].witness == []
    compatible(
        {"type": "array", "contains": {"type": "integer"}},
        {"type": "array", "contains": {"type": "number"}},
    )


def test_a_pattern_whose_automaton_would_explode_is_not_modelled() -> None:
    # Given (a|b)*a(a|b){12} (a DFA of 2^13 states), Then no automaton is built for it
    # and a change of it is never called compatible.
    old = {"type": "string", "pattern": "^(a|b)*a(a|b){12}$"}
    new = {"type": "string", "pattern": "^(a|b)*b(a|b){12}$"}
    assert patterns.language(old["pattern"]) is None
    assert diff(old, new, "BACKWARD").compatible is not True


def test_a_pattern_region_holding_only_declared_names_is_empty() -> None:
    # "^a$" matches only the declared "a", whose value was a string already: nothing left.
    old = obj({"a": {"type": "string"}}, patternProperties={"^a$": {}}, additionalProperties=False)
    new = {**old, "patternProperties": {"^a$": {"type": "string"}}}
    compatible(old, new, "FULL")
