"""The truth about schema changes, written by reasoning over instance sets, not by any checker.

Each Change says, for one old -> new schema pair, whether every instance valid under
the old schema is valid under the new one (`backward`) and the reverse (`forward`).
Every mode's verdict follows from those two by definition (`expected`). Each History
gives the same two truths for every pair of three versions, where judging against
the latest version only and against every earlier one differ.

Conventions the truths rest on: `default` is only an annotation (validators do not
fill it in); `format` asserts (the registry's validators check it); `true` is `{}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODES = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)


def directions(mode: str) -> tuple[str, ...]:
    """Which inclusions a mode demands."""
    if mode == "NONE":
        return ()
    if mode.startswith("BACKWARD"):
        return ("backward",)
    if mode.startswith("FORWARD"):
        return ("forward",)
    return ("backward", "forward")


@dataclass(frozen=True)
class Change:
    """One schema change and the truth about it."""

    id: str
    old: Any
    new: Any
    backward: bool  # every old-valid instance is new-valid
    forward: bool  # every new-valid instance is old-valid
    # why a sound checker may answer undecided here (the truth stays as written)
    may_be_undecided: str = ""

    def expected(self, mode: str) -> bool:
        """The verdict under mode (two versions: transitive or not is the same)."""
        return all(getattr(self, d) for d in directions(mode))


@dataclass(frozen=True)
class History:
    """Three versions and, for each pair (earlier, later), the two truths."""

    id: str
    versions: tuple[Any, Any, Any]
    backward: dict[tuple[int, int], bool] = field(default_factory=dict)
    forward: dict[tuple[int, int], bool] = field(default_factory=dict)

    def expected(self, mode: str, version: int) -> bool:
        """Version's verdict under mode: against the latest earlier one, or all (transitive)."""
        if version == 1:
            return True
        earlier = range(1, version) if mode.endswith("TRANSITIVE") else [version - 1]
        truths = {"backward": self.backward, "forward": self.forward}
        return all(truths[d][(e, version)] for d in directions(mode) for e in earlier)


def obj(properties: dict[str, Any], **keywords: Any) -> dict[str, Any]:
    """An object schema with these properties and keywords."""
    return {"type": "object", "properties": properties, **keywords}


def closed(properties: dict[str, Any], **keywords: Any) -> dict[str, Any]:
    """An object schema that admits only its properties."""
    return obj(properties, additionalProperties=False, **keywords)


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}


def node(value: Any, **keywords: Any) -> dict[str, Any]:
    """A recursive tree: a value and children that are trees."""
    tree = {
        "type": "object",
        "properties": {
            "value": value,
            "children": {"type": "array", "items": {"$ref": "#/definitions/node"}},
        },
        **keywords,
    }
    return {"definitions": {"node": tree}, "$ref": "#/definitions/node"}


def named(rules: dict[str, Any]) -> dict[str, Any]:
    """A property `name` whose rules live in definitions, reached by a local $ref."""
    return obj({"name": {"$ref": "#/definitions/name"}}, definitions={"name": rules})


C = Change
CHANGES: list[Change] = [
    # --- identical and annotations -----------------------------------------------------
    C("identical", obj({"a": STR}), obj({"a": STR}), True, True),
    C(
        "annotations-changed",
        obj({"a": STR}, title="v1"),
        obj({"a": {**STR, "description": "a name"}}, title="v2"),
        True,
        True,
    ),
    C("default-added", obj({"a": STR}), obj({"a": {**STR, "default": "x"}}), True, True),
    # --- open content model: anything not declared is allowed ---------------------------
    # a value under "b" of any type was valid before, only an integer is now
    C("open-add-typed-optional", obj({"a": STR}), obj({"a": STR, "b": INT}), False, True),
    C("open-add-unconstrained-optional", obj({"a": STR}), obj({"a": STR, "b": {}}), True, True),
    C("open-remove-typed-optional", obj({"a": STR, "b": INT}), obj({"a": STR}), True, False),
    # --- closed content model: only what is declared --------------------------------------
    C("closed-add-optional", closed({"a": STR}), closed({"a": STR, "b": INT}), True, False),
    C("closed-remove-optional", closed({"a": STR, "b": INT}), closed({"a": STR}), False, True),
    C(
        "closed-to-open",
        closed({"a": STR}),
        obj({"a": STR}, additionalProperties=True),
        True,
        False,
    ),
    C("open-to-closed", obj({"a": STR}), closed({"a": STR}), False, True),
    # --- partially open: additionalProperties or patternProperties as a schema -----------
    C(
        "partial-additional-widened",
        obj({"a": INT}, additionalProperties=STR),
        obj({"a": INT}, additionalProperties={"type": ["string", "integer"]}),
        True,
        False,
    ),
    C(
        "partial-to-closed",
        obj({"a": INT}, additionalProperties=STR),
        closed({"a": INT}),
        False,
        True,
    ),
    # "b" was held to additionalProperties (strings) already: the same set
    C(
        "partial-add-property-covered",
        obj({"a": INT}, additionalProperties=STR),
        obj({"a": INT, "b": STR}, additionalProperties=STR),
        True,
        True,
    ),
    C(
        "partial-add-property-not-covered",
        obj({"a": STR}, additionalProperties=INT),
        obj({"a": STR, "b": STR}, additionalProperties=INT),
        False,
        False,
    ),
    C(
        "pattern-properties-added",
        closed({}, patternProperties={"^x_": STR}),
        closed({}, patternProperties={"^x_": STR, "^y_": INT}),
        True,
        False,
    ),
    C(
        "pattern-properties-narrowed",
        closed({}, patternProperties={"^x_": STR}),
        closed({}, patternProperties={"^x_": {**STR, "maxLength": 3}}),
        False,
        True,
    ),
    # patternProperties applies to declared properties too: x_a must be a string and an
    # integer, so it can only be absent now
    C(
        "property-also-under-pattern",
        closed({}, patternProperties={"^x_": STR}),
        closed({"x_a": INT}, patternProperties={"^x_": STR}),
        False,
        True,
    ),
    # --- required ------------------------------------------------------------------------
    C("required-added", obj({"a": STR}), obj({"a": STR}, required=["a"]), False, True),
    # a default does not make {} valid: validators do not fill it in
    C(
        "required-added-with-default",
        obj({"a": {**STR, "default": "x"}}),
        obj({"a": {**STR, "default": "x"}}, required=["a"]),
        False,
        True,
    ),
    C(
        "required-property-with-default-added-to-closed",
        closed({"a": STR}),
        closed({"a": STR, "b": {**INT, "default": 0}}, required=["b"]),
        False,
        False,
    ),
    C("required-removed", obj({"a": STR}, required=["a"]), obj({"a": STR}), True, False),
    # --- types ---------------------------------------------------------------------------
    C("integer-to-number", INT, NUM, True, False),
    C("number-to-integer", NUM, INT, False, True),
    C("string-to-nullable", STR, {"type": ["string", "null"]}, True, False),
    C("type-list-narrowed", {"type": ["string", "integer"]}, STR, False, True),
    C("string-to-integer", STR, INT, False, False),
    # --- enum and const ------------------------------------------------------------------
    C("enum-value-added", {"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]}, True, False),
    C("enum-value-removed", {"enum": ["a", "b", "c"]}, {"enum": ["a", "b"]}, False, True),
    C("enum-reordered", {"enum": ["a", "b"]}, {"enum": ["b", "a"]}, True, True),
    C("const-to-enum", {"const": "a"}, {"enum": ["a", "b"]}, True, False),
    C("enum-to-const", {"enum": ["a", "b"]}, {"const": "a"}, False, True),
    C("enum-to-type", {"enum": [1, "a"]}, STR, False, False),
    # --- strings -------------------------------------------------------------------------
    C("max-length-raised", {**STR, "maxLength": 10}, {**STR, "maxLength": 20}, True, False),
    C("max-length-lowered", {**STR, "maxLength": 20}, {**STR, "maxLength": 10}, False, True),
    C("min-length-added", STR, {**STR, "minLength": 3}, False, True),
    C("min-length-removed", {**STR, "minLength": 1}, STR, True, False),
    C("pattern-added", STR, {**STR, "pattern": "^[a-z]+$"}, False, True),
    C("pattern-removed", {**STR, "pattern": "^[a-z]+$"}, STR, True, False),
    C(
        "pattern-widened",
        {**STR, "pattern": "^[a-z]+$"},
        {**STR, "pattern": "^[a-z0-9]+$"},
        True,
        False,
        may_be_undecided="inclusion of regular languages needs an automaton per pattern",
    ),
    C("format-added", STR, {**STR, "format": "email"}, False, True),
    C("format-removed", {**STR, "format": "email"}, STR, True, False),
    # --- numbers -------------------------------------------------------------------------
    C("minimum-raised", {**NUM, "minimum": 0}, {**NUM, "minimum": 1}, False, True),
    C("maximum-raised", {**NUM, "maximum": 10}, {**NUM, "maximum": 100}, True, False),
    C(
        "exclusive-minimum-to-minimum",
        {**NUM, "exclusiveMinimum": 0},
        {**NUM, "minimum": 0},
        True,
        False,
    ),
    # on integers, x <= 9 and x < 10 are the same set
    C(
        "integer-maximum-as-exclusive-maximum",
        {**INT, "maximum": 9},
        {**INT, "exclusiveMaximum": 10},
        True,
        True,
    ),
    C(
        "exclusive-maximum-lowered",
        {**NUM, "exclusiveMaximum": 10},
        {**NUM, "exclusiveMaximum": 5},
        False,
        True,
    ),
    C("multiple-of-2-to-4", {**INT, "multipleOf": 2}, {**INT, "multipleOf": 4}, False, True),
    C("multiple-of-4-to-2", {**INT, "multipleOf": 4}, {**INT, "multipleOf": 2}, True, False),
    C("multiple-of-2-to-3", {**INT, "multipleOf": 2}, {**INT, "multipleOf": 3}, False, False),
    # --- arrays --------------------------------------------------------------------------
    C("min-items-removed", {"type": "array", "minItems": 1}, {"type": "array"}, True, False),
    C(
        "max-items-lowered",
        {"type": "array", "maxItems": 5},
        {"type": "array", "maxItems": 3},
        False,
        True,
    ),
    C("unique-items-added", {"type": "array"}, {"type": "array", "uniqueItems": True}, False, True),
    C(
        "unique-items-removed",
        {"type": "array", "uniqueItems": True},
        {"type": "array"},
        True,
        False,
    ),
    C(
        "items-widened",
        {"type": "array", "items": STR},
        {"type": "array", "items": {"type": ["string", "integer"]}},
        True,
        False,
    ),
    C(
        "items-narrowed",
        {"type": "array", "items": INT},
        {"type": "array", "items": {**INT, "minimum": 0}},
        False,
        True,
    ),
    C(
        "tuple-additional-items-opened",
        {"type": "array", "items": [STR, INT], "additionalItems": False},
        {"type": "array", "items": [STR, INT]},
        True,
        False,
    ),
    C(
        "tuple-element-added-closed",
        {"type": "array", "items": [STR], "additionalItems": False},
        {"type": "array", "items": [STR, INT], "additionalItems": False},
        True,
        False,
    ),
    C(
        "tuple-element-conflicts-with-additional-items",
        {"type": "array", "items": [STR], "additionalItems": INT},
        {"type": "array", "items": [STR, STR], "additionalItems": INT},
        False,
        False,
    ),
    # without additionalItems, everything after the tuple is allowed
    C(
        "items-schema-to-tuple",
        {"type": "array", "items": STR},
        {"type": "array", "items": [STR]},
        True,
        False,
    ),
    # --- object sizes and dependencies ---------------------------------------------------
    C("max-properties-lowered", obj({}, maxProperties=3), obj({}, maxProperties=2), False, True),
    C("min-properties-added", obj({}), obj({}, minProperties=1), False, True),
    C(
        "dependency-array-added",
        obj({"a": INT, "b": INT}),
        obj({"a": INT, "b": INT}, dependencies={"a": ["b"]}),
        False,
        True,
    ),
    C(
        "dependency-schema-removed",
        obj({"a": INT}, dependencies={"a": {"required": ["b"]}}),
        obj({"a": INT}),
        True,
        False,
    ),
    C(
        "property-names-limited",
        obj({}),
        obj({}, propertyNames={"maxLength": 3}),
        False,
        True,
    ),
    C(
        "contains-added",
        {"type": "array"},
        {"type": "array", "contains": {"const": 1}},
        False,
        True,
    ),
    # --- combinators ---------------------------------------------------------------------
    C(
        "any-of-branch-added",
        {"anyOf": [STR, INT]},
        {"anyOf": [STR, INT, {"type": "null"}]},
        True,
        False,
    ),
    C("any-of-branch-removed", {"anyOf": [STR, INT]}, {"anyOf": [STR]}, False, True),
    C("one-of-disjoint-widened", {"oneOf": [INT, STR]}, {"oneOf": [NUM, STR]}, True, False),
    # an integer matches both alternatives, so oneOf refuses it: only non-integers remain
    C(
        "one-of-overlapping",
        NUM,
        {"oneOf": [INT, NUM]},
        False,
        True,
        may_be_undecided="overlapping oneOf alternatives: exactly-one is not a union",
    ),
    # if a then b: the same set as dependencies {"a": ["b"]}
    C(
        "if-then-added",
        obj({"a": INT, "b": INT}),
        obj({"a": INT, "b": INT}, **{"if": {"required": ["a"]}, "then": {"required": ["b"]}}),
        False,
        True,
    ),
    C("all-of-constraint-added", STR, {"allOf": [STR, {"maxLength": 5}]}, False, True),
    C(
        "all-of-equivalent-refactor",
        {**STR, "maxLength": 5},
        {"allOf": [STR, {"maxLength": 5}]},
        True,
        True,
    ),
    C(
        "not-added",
        STR,
        {**STR, "not": {"const": ""}},
        False,
        True,
        may_be_undecided="not: the complement of a schema is not a schema the checker holds",
    ),
    C(
        "not-removed",
        {"not": {"type": "null"}},
        {},
        True,
        False,
        may_be_undecided="not: the complement of a schema is not a schema the checker holds",
    ),
    # not A includes not B exactly when B includes A
    C(
        "not-widened",
        {"not": STR},
        {"not": {"type": ["string", "null"]}},
        False,
        True,
        may_be_undecided="not: the complement of a schema is not a schema the checker holds",
    ),
    # --- local $ref, recursion -----------------------------------------------------------
    C(
        "ref-definition-widened",
        named({**STR, "maxLength": 10}),
        named({**STR, "maxLength": 20}),
        True,
        False,
    ),
    C(
        "ref-replaces-inline-equivalent",
        obj({"name": STR}),
        named(STR),
        True,
        True,
    ),
    C("ref-recursive-widened", node(INT), node(NUM), True, False),
    C("ref-recursive-narrowed", node(INT), node({**INT, "minimum": 0}), False, True),
    C("ref-recursive-required-added", node(INT), node(INT, required=["value"]), False, True),
    # --- boolean schemas -----------------------------------------------------------------
    C("property-forbidden", obj({"a": True}), obj({"a": False}), False, True),
    C("items-false-to-any", {"type": "array", "items": False}, {"type": "array"}, True, False),
    C("true-is-the-empty-schema", obj({"a": True}), obj({"a": {}}), True, True),
    # nothing was valid before: every old instance (none) is valid now
    C(
        "nothing-to-strings",
        {"not": {}},
        STR,
        True,
        False,
        may_be_undecided="not: that {} negated is empty takes reasoning on not, as above",
    ),
]

HISTORIES: list[History] = [
    # v2 narrows (incompatible backward), v3 widens back part-way
    History(
        "length-narrowed-then-widened",
        ({**STR, "maxLength": 10}, {**STR, "maxLength": 5}, {**STR, "maxLength": 8}),
        backward={(1, 2): False, (2, 3): True, (1, 3): False},
        forward={(1, 2): True, (2, 3): False, (1, 3): True},
    ),
    # the classic: a removed field comes back with another type
    History(
        "property-removed-then-readded-as-other-type",
        (closed({"name": STR}), closed({}), closed({"name": INT})),
        backward={(1, 2): False, (2, 3): True, (1, 3): False},
        forward={(1, 2): True, (2, 3): False, (1, 3): False},
    ),
    # forward's mirror: v2 widens, v3 narrows part-way
    History(
        "maximum-raised-then-lowered",
        ({**INT, "maximum": 10}, {**INT, "maximum": 20}, {**INT, "maximum": 15}),
        backward={(1, 2): True, (2, 3): False, (1, 3): True},
        forward={(1, 2): False, (2, 3): True, (1, 3): False},
    ),
    # every step widens: transitive or not, backward holds, forward does not
    History(
        "enum-grows-each-version",
        ({"enum": ["a"]}, {"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]}),
        backward={(1, 2): True, (2, 3): True, (1, 3): True},
        forward={(1, 2): False, (2, 3): False, (1, 3): False},
    ),
]
