"""A form's schema evolving under a compatibility mode, against a model of what must hold.

A hypothesis state machine registers versions of one form (mutations of an object
schema: properties added, made required or optional, removed; maxLength tightened or
loosened; types widened or narrowed; additionalProperties toggled) and submits data
generated from the current or an earlier version, on the in-memory catalog and event
store. The model keeps the registered versions. Laws:
- a registration is accepted iff the checker finds the schema compatible with the current
  version (the modes here are not transitive); accepted, it becomes current as the
  previous version + 1; refused (incompatible or undecided), nothing changes; the same
  schema again changes nothing;
- a submission is accepted iff it is valid (jsonschema) under the current version, and
  an accepted one is recorded with that version (submission.received form_schema_version);
- under BACKWARD, whatever was valid under an earlier version is still accepted: what
  makes the mode worth declaring.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonschema
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from hypothesis_jsonschema import from_schema

from formrelay.cli.contract_examples import ingest_refusal
from formrelay.domain.events import SUBMISSION_RECEIVED, StreamId
from formrelay.intake.errors import SubmissionInvalidError
from formrelay.intake.submissions import IntakeRequest, accept_submission
from formrelay.registry.compatibility import Mode, check
from formrelay.registry.errors import CompatibilityUndecidedError, IncompatibleSchemaError
from formrelay.registry.memory import InMemoryFormCatalog
from formrelay.registry.registration import register
from formrelay.store.memory import InMemoryEventStore

TENANT, FORM = "acme", "signup"
NAMES = ("email", "name", "age", "city", "newsletter", "nickname")
PROPERTY_TYPES: tuple[dict[str, Any], ...] = (
    {"type": "string", "maxLength": 20},
    {"type": ["string", "null"], "maxLength": 20},
    {"type": "integer", "minimum": 0, "maximum": 150},
    {"type": "boolean"},
)
BASE: dict[str, Any] = {
    "type": "object",
    "required": ["email"],
    "properties": {"email": {"type": "string", "maxLength": 40}, "name": PROPERTY_TYPES[0]},
    "additionalProperties": False,
}
# The modes under which every version accepts what every earlier one did.
KEEPS_EARLIER_DATA = frozenset(
    {Mode.BACKWARD, Mode.BACKWARD_TRANSITIVE, Mode.FULL, Mode.FULL_TRANSITIVE}
)
Mutation = Callable[[dict[str, Any], int, int], None]


def _chosen(schema: dict[str, Any], pick: int) -> str | None:
    present = sorted(schema["properties"])
    return present[pick % len(present)] if present else None


def _add(required: bool) -> Mutation:
    def add(schema: dict[str, Any], pick: int, shape: int) -> None:
        absent = [n for n in NAMES if n not in schema["properties"]]
        if absent:
            name = absent[pick % len(absent)]
            schema["properties"][name] = copy.deepcopy(PROPERTY_TYPES[shape % len(PROPERTY_TYPES)])
            if required:
                schema["required"].append(name)

    return add


def _make_required(schema: dict[str, Any], pick: int, shape: int) -> None:
    name = _chosen(schema, pick)
    if name is not None and name not in schema["required"]:
        schema["required"].append(name)


def _make_optional(schema: dict[str, Any], pick: int, shape: int) -> None:
    if schema["required"]:
        schema["required"].pop(pick % len(schema["required"]))


def _remove(schema: dict[str, Any], pick: int, shape: int) -> None:
    name = _chosen(schema, pick)
    if name is not None:
        del schema["properties"][name]
        if name in schema["required"]:
            schema["required"].remove(name)


def _scale_max_length(factor: float) -> Mutation:
    def scale(schema: dict[str, Any], pick: int, shape: int) -> None:
        name = _chosen(schema, pick)
        if name is not None and "maxLength" in schema["properties"][name]:
            prop = schema["properties"][name]
            prop["maxLength"] = max(1, int(prop["maxLength"] * factor))

    return scale


def _widen_type(schema: dict[str, Any], pick: int, shape: int) -> None:
    name = _chosen(schema, pick)
    if name is not None and isinstance(schema["properties"][name].get("type"), str):
        schema["properties"][name]["type"] = [schema["properties"][name]["type"], "null"]


def _narrow_type(schema: dict[str, Any], pick: int, shape: int) -> None:
    name = _chosen(schema, pick)
    if name is not None and isinstance(schema["properties"][name].get("type"), list):
        schema["properties"][name]["type"] = schema["properties"][name]["type"][0]


def _toggle_additional(schema: dict[str, Any], pick: int, shape: int) -> None:
    schema["additionalProperties"] = not schema["additionalProperties"]


# Each changes a copy of the current schema in place (or leaves it as it is, when it does
# not apply: registering the same schema again is a case too).
MUTATIONS: dict[str, Mutation] = {
    "add optional property": _add(required=False),
    "add required property": _add(required=True),
    "make a property required": _make_required,
    "make a property optional": _make_optional,
    "remove a property": _remove,
    "tighten maxLength": _scale_max_length(0.5),
    "loosen maxLength": _scale_max_length(2),
    "widen a type (or null)": _widen_type,
    "narrow a type": _narrow_type,
    "toggle additionalProperties": _toggle_additional,
}


def mutate(schema: dict[str, Any], kind: str, pick: int, shape: int) -> dict[str, Any]:
    """The schema with one change; `pick` chooses the property, `shape` a new one's type."""
    new = copy.deepcopy(schema)
    MUTATIONS[kind](new, pick, shape)
    return new


def valid(schema: dict[str, Any], document: Any) -> bool:
    """The model's judge: jsonschema, draft-07."""
    return jsonschema.Draft7Validator(schema).is_valid(document)


class FormRegistry(RuleBasedStateMachine):
    """One tenant's form under one compatibility mode."""

    mode = Mode.BACKWARD

    def __init__(self) -> None:
        super().__init__()
        self.catalog = InMemoryFormCatalog()
        self.events = InMemoryEventStore()
        self.versions: list[dict[str, Any]] = []  # the model: every registered version
        # Every schema proposed, registered or refused: data drawn from a refused one is
        # how submissions the current version must refuse come about.
        self.proposed: list[tuple[dict[str, Any], int | None]] = []
        self.submissions = 0

    @initialize()
    def register_the_first_version(self) -> None:
        outcome = register(self.catalog, TENANT, FORM, BASE, self.mode)
        assert outcome.version == 1
        self.versions.append(BASE)
        self.proposed.append((BASE, 1))

    @rule(kind=st.sampled_from(sorted(MUTATIONS)), pick=st.integers(0, 5), shape=st.integers(0, 3))
    def register_a_new_version(self, kind: str, pick: int, shape: int) -> None:
        schema = mutate(self.versions[-1], kind, pick, shape)
        current = len(self.versions)
        if schema == self.versions[-1]:  # the mutation did not apply: the same schema again
            assert register(self.catalog, TENANT, FORM, schema, self.mode).version == current
            return
        compatible = check(self.versions[-1:], schema, self.mode).compatible
        try:
            outcome = register(self.catalog, TENANT, FORM, schema, self.mode)
        except (IncompatibleSchemaError, CompatibilityUndecidedError):
            assert compatible is not True, f"{kind}: refused, but the checker finds it compatible"
            self.proposed.append((schema, None))
            event("registration refused")
            return
        assert compatible is True, f"{kind}: registered, but the checker finds it {compatible}"
        assert outcome.version == current + 1
        self.versions.append(schema)
        self.proposed.append((schema, outcome.version))
        event("registration accepted")

    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        schema, version = data.draw(st.sampled_from(self.proposed), label="drawn from")
        payload = data.draw(from_schema(schema), label="payload")
        if ingest_refusal(payload) is not None:
            return  # not JSON the ingest reads at all: the CLI's concern, not the registry's
        self._submit(payload, version)

    def _submit(self, payload: dict[str, Any], drawn_from: int | None) -> None:
        current = len(self.versions)
        request = IntakeRequest(
            tenant_id=TENANT,
            key_id="acme.0123456789abcdef",
            form_id=FORM,
            body=json.dumps(payload).encode("utf-8"),
            correlation_id=f"corr-{self.submissions}",
        )
        self.submissions += 1
        expected = valid(self.versions[-1], payload)
        try:
            accepted = accept_submission(request, forms=self.catalog, events=self.events)
        except SubmissionInvalidError as refusal:
            assert not expected, f"refused under v{current}, yet valid under it"
            assert refusal.schema_version == current
            # the law BACKWARD exists for: data valid under an earlier version still goes in
            if drawn_from is not None and self.mode in KEEPS_EARLIER_DATA:
                assert not valid(self.versions[drawn_from - 1], payload), (
                    f"valid under v{drawn_from}, refused under v{current}"
                )
            event("submission refused")
            return
        assert expected, f"accepted under v{current}, yet invalid under it"
        [received] = self.events.read(StreamId(TENANT, accepted.submission_id))
        assert received.type == SUBMISSION_RECEIVED
        assert received.data["form_schema_version"] == current
        earlier = drawn_from is not None and drawn_from < current
        event("submission accepted" + (" (drawn from an earlier version)" if earlier else ""))

    @invariant()
    def the_catalog_serves_the_models_current_version(self) -> None:
        if not self.versions:
            return
        form = self.catalog.load(TENANT, FORM)
        assert form is not None
        assert form.schema_version == len(self.versions)
        assert form.schema.schema == self.versions[-1]


class ForwardFormRegistry(FormRegistry):
    """The same form under FORWARD: what registers changes, the other laws stay."""

    mode = Mode.FORWARD


BOUNDED = settings(
    max_examples=20,
    stateful_step_count=10,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestBackwardFormRegistry = FormRegistry.TestCase
TestBackwardFormRegistry.settings = BOUNDED
TestForwardFormRegistry = ForwardFormRegistry.TestCase
TestForwardFormRegistry.settings = BOUNDED
