"""The compatibility checker checked by instances: its "compatible" must survive generated data.

Laws, for schema pairs from the table (compatibility_table.CHANGES) and pairs made by
mutating a generated object schema (add/remove a property, raise/lower a bound,
widen/narrow a type, add/remove required, toggle additionalProperties, add/remove
enum values):
- when the checker says BACKWARD-compatible, every instance generated from the old
  schema (hypothesis-jsonschema) is valid under the new one; FORWARD the reverse;
- every witness it gives is a true counterexample (valid under one, invalid under the
  other, in its direction), by jsonschema and by the registry's compiled validator.
And for the event registry: each pair of versions of an event type that its manifest
mode declares compatible passes the same law in the declared direction.

Bounded and derandomized: the whole file runs in well under a minute.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from contract_tests.compatibility_table import CHANGES, Change
from formrelay.registry.compatibility import NO_WITNESS, Mode, Verdict, diff
from formrelay.registry.event_registry import EventTypeHistory, read_registry
from formrelay.registry.schemas import CompiledSchema, schemas_root

FORMATS = jsonschema.Draft7Validator.FORMAT_CHECKER
BOUNDED = settings(
    derandomize=True,
    max_examples=4,
    deadline=None,
    database=None,
    # open objects make hypothesis-jsonschema filter many drafts of extra property names
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

# Table pairs hypothesis-jsonschema cannot draw from, and why (the table test covers them)
NOT_GENERATED = {
    "ref-recursive-widened": "hypothesis-jsonschema does not resolve recursive $refs",
    "ref-recursive-narrowed": "hypothesis-jsonschema does not resolve recursive $refs",
    "ref-recursive-required-added": "hypothesis-jsonschema does not resolve recursive $refs",
    "nothing-to-strings": "the old schema admits no instance at all",
}


def accepts(schema: Any, instance: Any) -> bool:
    """Whether both validators accept instance; a disagreement between them fails the test."""
    reference = jsonschema.Draft7Validator(schema, format_checker=FORMATS).is_valid(instance)
    compiled = CompiledSchema(schema).violations(instance) == []
    assert reference == compiled, f"the validators disagree on {instance!r} under {schema}"
    return reference


def assert_witnesses_are_real(verdict: Verdict, old: Any, new: Any) -> None:
    for found in verdict.incompatibilities:
        if found.witness is NO_WITNESS:
            continue  # none found: nothing to re-check
        valid_under, invalid_under = (old, new) if found.direction == "backward" else (new, old)
        assert accepts(valid_under, found.witness), found
        assert not accepts(invalid_under, found.witness), found


def assert_compatible_claims_hold(data: st.DataObject, old: Any, new: Any) -> int:
    """Draw instances wherever the checker claims inclusion; how many claims were tried."""
    claims = 0
    for mode, source, target in ((Mode.BACKWARD, old, new), (Mode.FORWARD, new, old)):
        verdict = diff(old, new, mode)
        assert_witnesses_are_real(verdict, old, new)
        if verdict.compatible:
            claims += 1
            for instance in data.draw(st.lists(from_schema(source), min_size=1, max_size=2)):
                assert accepts(source, instance)
                assert accepts(target, instance), f"{mode}: {instance!r} refused by {target}"
    return claims


# --- the table's pairs ---------------------------------------------------------------


def test_only_the_listed_table_pairs_are_left_to_the_table_test() -> None:
    assert set(NOT_GENERATED) <= {c.id for c in CHANGES}


GENERATED = [pytest.param(c, id=c.id) for c in CHANGES if c.id not in NOT_GENERATED]


@pytest.mark.parametrize("change", GENERATED)
def test_table_pairs_the_checker_calls_compatible_accept_generated_instances(
    change: Change,
) -> None:
    @BOUNDED
    @given(data=st.data())
    def law(data: st.DataObject) -> None:
        assert_compatible_claims_hold(data, change.old, change.new)

    law()


# --- pairs made by mutating a generated object schema --------------------------------

NAMES = ("a", "b", "c")
LEAVES = st.sampled_from(
    [
        {"type": "string", "maxLength": 8},
        {"type": "string", "minLength": 1},
        {"type": "integer", "minimum": 0, "maximum": 100},
        {"type": "number"},
        {"type": ["string", "null"]},
        {"enum": ["x", "y", 1]},
        {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
    ]
)


@st.composite
def object_schemas(draw: st.DrawFn) -> dict[str, Any]:
    properties = draw(st.dictionaries(st.sampled_from(NAMES), LEAVES, min_size=1, max_size=3))
    required = draw(st.lists(st.sampled_from(sorted(properties)), unique=True, max_size=2))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


def _bounds(leaf: dict[str, Any], step: int) -> None:
    """Raise or lower one bound, keeping every lower bound at or below its upper one."""
    for low, high in (("minLength", "maxLength"), ("minimum", "maximum"), ("minItems", "maxItems")):
        if high in leaf:
            leaf[high] = max(leaf.get(low, 0), leaf[high] + step)
            return
        if low in leaf:
            leaf[low] = max(0, leaf[low] - step)
            return


def _type(leaf: dict[str, Any], widen: bool) -> None:
    """integer <-> number, string <-> [string, null]."""
    wider: list[tuple[Any, Any]] = [("integer", "number"), ("string", ["string", "null"])]
    for narrow, wide in wider:
        if leaf.get("type") == (narrow if widen else wide):
            leaf["type"] = wide if widen else narrow
            return


def _enum(leaf: dict[str, Any], add: bool) -> None:
    if "enum" in leaf:
        leaf["enum"] = [*leaf["enum"], "z"] if add else leaf["enum"][:-1] or ["x"]


def _add(new: dict[str, Any], name: str, draw: st.DrawFn) -> None:
    new["properties"][name] = draw(LEAVES)


def _remove(new: dict[str, Any], name: str, draw: st.DrawFn) -> None:
    if len(new["properties"]) > 1 and name in new["properties"]:
        del new["properties"][name]
        new["required"] = [r for r in new.get("required", []) if r != name]


def _bound(new: dict[str, Any], name: str, draw: st.DrawFn) -> None:
    if name in new["properties"]:
        _bounds(new["properties"][name], draw(st.sampled_from([-3, 5])))


def _retype(new: dict[str, Any], name: str, draw: st.DrawFn) -> None:
    if name in new["properties"]:
        _type(new["properties"][name], draw(st.booleans()))


def _require(new: dict[str, Any], name: str, draw: st.DrawFn) -> None:
    if name in new["properties"]:
        new["required"] = sorted({*new.get("required", []), name})


def _unrequire(new: dict[str, Any], name: str, draw: st.DrawFn) -> None:
    new["required"] = [r for r in new.get("required", []) if r != name]


def _toggle_closed(new: dict[str, Any], name: str, draw: st.DrawFn) -> None:
    new["additionalProperties"] = not new.get("additionalProperties", True)


def _enum_values(new: dict[str, Any], name: str, draw: st.DrawFn) -> None:
    if name in new["properties"]:
        _enum(new["properties"][name], draw(st.booleans()))


MUTATIONS = [_add, _remove, _bound, _retype, _require, _unrequire, _toggle_closed, _enum_values]


@st.composite
def mutated(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """schema changed by one or two mutations."""
    new = copy.deepcopy(schema)
    for _ in range(draw(st.integers(1, 2))):
        mutation = draw(st.sampled_from(MUTATIONS))
        mutation(new, draw(st.sampled_from(NAMES)), draw)
    if not new.get("required", True):
        del new["required"]
    return new


@settings(BOUNDED, max_examples=30)
@given(data=st.data())
def test_mutated_pairs_the_checker_calls_compatible_accept_generated_instances(
    data: st.DataObject,
) -> None:
    old = data.draw(object_schemas(), label="old")
    new = data.draw(mutated(old), label="new")
    claims = assert_compatible_claims_hold(data, old, new)
    if old == new:
        assert claims == 2  # the same schema is compatible both ways


# --- the event registry's own version pairs ------------------------------------------


def declared_pairs(history: EventTypeHistory) -> list[tuple[int, int, str]]:
    """(earlier, later, direction) for every pair the type's mode declares compatible."""
    mode = history.mode.value
    wanted = {
        "backward": mode.startswith(("BACKWARD", "FULL")),
        "forward": mode.startswith(("FORWARD", "FULL")),
    }
    pairs = []
    for later in range(2, len(history.schemas) + 1):
        earlier = range(1, later) if mode.endswith("TRANSITIVE") else [later - 1]
        pairs += [(e, later, d) for e in earlier for d, on in wanted.items() if on]
    return pairs


def assert_declared_pairs_hold(history: EventTypeHistory, data: st.DataObject) -> None:
    for earlier, later, direction in declared_pairs(history):
        old, new = history.schemas[earlier - 1], history.schemas[later - 1]
        source, target = (old, new) if direction == "backward" else (new, old)
        for instance in data.draw(st.lists(from_schema(source), min_size=1, max_size=2)):
            assert accepts(target, instance), (history.event_type, earlier, later, instance)


HISTORIES = read_registry(schemas_root())


def run_law(history: EventTypeHistory, *, shrink: bool = True) -> None:
    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]

    @settings(BOUNDED, max_examples=5, phases=phases)
    @given(data=st.data())
    def law(data: st.DataObject) -> None:
        assert_declared_pairs_hold(history, data)

    law()


def test_the_law_runs_over_every_pair_each_types_mode_declares() -> None:
    # today every event type has one version, so no pair yet: each new version adds some
    assert len(HISTORIES) >= 6
    for history in HISTORIES:
        n, mode = len(history.schemas), history.mode
        pairs = n * (n - 1) // 2 if mode.value.endswith("TRANSITIVE") else n - 1
        per_pair = 0 if mode is Mode.NONE else 2 if mode.value.startswith("FULL") else 1
        assert len(declared_pairs(history)) == pairs * per_pair


@pytest.mark.parametrize("history", HISTORIES, ids=[h.event_type for h in HISTORIES])
def test_event_versions_the_manifest_declares_compatible_accept_each_others_data(
    history: EventTypeHistory,
) -> None:
    run_law(history)


def test_the_event_version_law_runs_on_a_new_version_and_catches_a_bad_one() -> None:
    # Given an event type evolved by an optional property in its closed model
    v1 = {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}}
    v2 = {**v1, "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    full = EventTypeHistory("sample.evolved", Mode.FULL_TRANSITIVE, (v1, v2, v2))
    assert declared_pairs(full) == [
        (1, 2, "backward"),
        (1, 2, "forward"),
        (1, 3, "backward"),
        (1, 3, "forward"),
        (2, 3, "backward"),
        (2, 3, "forward"),
    ]

    # Then the law holds backward, and fails on a v2 that refuses v1's data
    run_law(EventTypeHistory("sample.evolved", Mode.BACKWARD_TRANSITIVE, (v1, v2)))
    refusing = ({**v1, "required": ["a"]}, {**v1, "properties": {"a": {"type": "integer"}}})
    with pytest.raises(AssertionError):
        run_law(EventTypeHistory("sample.evolved", Mode.BACKWARD, refusing), shrink=False)
