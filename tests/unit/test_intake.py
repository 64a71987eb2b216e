"""Accepting a submission, on fakes: one append for a valid body, nothing for anything else."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formrelay.delivery.memory import InMemoryDestinationDirectory
from formrelay.domain.destinations import Destination
from formrelay.domain.events import SUBMISSION_RECEIVED, StreamId
from formrelay.intake.submissions import IntakeRequest, accept_submission
from formrelay.registry.memory import InMemoryFormCatalog
from formrelay.registry.registration import register
from formrelay.store.memory import InMemoryEventStore
from tests.support.refusals import refused

SCHEMA = {
    "type": "object",
    "required": ["email", "name"],
    "properties": {"email": {"type": "string"}, "name": {"type": "string", "minLength": 1}},
}
ADA = {"email": "ada@example.com", "name": "Ada"}


class Intake:
    """The intake use case over fakes: tenant acme has the form contact with two destinations."""

    def __init__(self) -> None:
        self.events = InMemoryEventStore()
        self.directory = InMemoryDestinationDirectory()
        self.forms = InMemoryFormCatalog(destinations=self.directory.for_form)
        register(self.forms, "acme", "contact", SCHEMA)
        for destination_id in ("crm", "slack"):
            self.directory.put(
                Destination(
                    "acme", "contact", destination_id, f"https://h.example.com/{destination_id}"
                )
            )

    def submit(
        self,
        payload: Any = ADA,
        *,
        tenant_id: str = "acme",
        form_id: str = "contact",
        idempotency_key: str | None = None,
        raw: bytes | None = None,
    ) -> Any:
        body = raw if raw is not None else json.dumps(payload).encode()
        request = IntakeRequest(
            tenant_id=tenant_id,
            key_id=f"{tenant_id}.0123456789abcdef",
            form_id=form_id,
            body=body,
            correlation_id="corr-1",
            idempotency_key=idempotency_key,
        )
        return accept_submission(request, forms=self.forms, events=self.events)

    def recorded(self, tenant_id: str, submission_id: str) -> list[Any]:
        """The submission's events (none if it was never recorded)."""
        stream = StreamId(tenant_id, submission_id)
        return self.events.read(stream) if self.events.version(stream) else []


@pytest.fixture
def intake() -> Intake:
    return Intake()


def test_a_valid_submission_is_one_received_event_naming_every_destination(
    intake: Intake,
) -> None:
    # When a valid submission arrives
    accepted = intake.submit()

    # Then it is new, and its stream holds one submission.received with what was sent
    assert accepted.replayed is False
    [event] = intake.recorded("acme", accepted.submission_id)
    assert event.type == SUBMISSION_RECEIVED
    assert event.correlation_id == "corr-1"
    assert event.data["payload"] == ADA
    assert event.data["form_id"] == "contact"
    assert event.data["form_schema_version"] == 1
    assert event.data["key_id"] == "acme.0123456789abcdef"
    assert event.data["destinations"] == ["crm", "slack"]
    assert event.data["body_sha256"] == hashlib.sha256(json.dumps(ADA).encode()).hexdigest()
    assert accepted.body()["links"]["self"] == f"/v1/submissions/{accepted.submission_id}"


def test_a_schemas_defaults_are_not_written_into_what_was_sent(intake: Intake) -> None:
    # Given a form version whose optional field has a default
    with_default = {**SCHEMA, "properties": {**SCHEMA["properties"], "plan": {"default": "free"}}}
    register(intake.forms, "acme", "contact", with_default)

    # When a submission leaves that field out
    accepted = intake.submit()

    # Then the record holds what was sent and signed, not the default
    [event] = intake.recorded("acme", accepted.submission_id)
    assert event.data["payload"] == ADA


def test_a_disabled_destination_is_still_named_so_its_failure_is_on_record(
    intake: Intake,
) -> None:
    intake.directory.disable("acme", "contact", "slack", "gone (HTTP 410)")
    accepted = intake.submit()
    [event] = intake.recorded("acme", accepted.submission_id)
    assert event.data["destinations"] == ["crm", "slack"]


def test_a_repeat_with_the_same_key_and_body_gets_the_first_answer_and_writes_nothing(
    intake: Intake,
) -> None:
    # Given a submission made with an Idempotency-Key
    first = intake.submit(idempotency_key="order-42")

    # When the client sends it again
    again = intake.submit(idempotency_key="order-42")

    # Then it gets the same submission id, marked a replay, and the stream still has one event
    assert (first.submission_id, first.replayed) == ("order-42", False)
    assert (again.submission_id, again.replayed) == ("order-42", True)
    assert len(intake.recorded("acme", "order-42")) == 1


@settings(max_examples=30, deadline=None)
@given(
    repeats=st.integers(min_value=1, max_value=6),
    payload=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=3),
)
def test_any_number_of_repeats_records_one_submission(
    repeats: int, payload: dict[str, str]
) -> None:
    intake = Intake()
    body = {**ADA, **payload, "email": "ada@example.com", "name": "Ada"}
    answers = [intake.submit(body, idempotency_key="same") for _ in range(repeats)]
    assert [a.replayed for a in answers] == [False] + [True] * (repeats - 1)
    assert len(intake.recorded("acme", "same")) == 1


def test_the_same_key_with_another_body_is_409_and_writes_nothing(intake: Intake) -> None:
    # Given a submission made with an Idempotency-Key
    intake.submit(idempotency_key="order-42")

    # When the same key comes with another body
    with refused(409, "idempotency-key-reused"):
        intake.submit({**ADA, "name": "Eve"}, idempotency_key="order-42")

    # Then the first submission stands alone
    [event] = intake.recorded("acme", "order-42")
    assert event.data["payload"] == ADA


def test_the_same_key_for_another_form_is_409(intake: Intake) -> None:
    register(intake.forms, "acme", "survey", SCHEMA)
    intake.submit(idempotency_key="order-42")
    with refused(409, "idempotency-key-reused"):
        intake.submit(form_id="survey", idempotency_key="order-42")


def test_an_unknown_form_is_404_and_writes_nothing(intake: Intake) -> None:
    with refused(404, "not-found"):
        intake.submit(form_id="survey", idempotency_key="k1")
    with refused(404, "not-found"):
        intake.submit(form_id="../contact", idempotency_key="k2")
    assert intake.recorded("acme", "k1") == intake.recorded("acme", "k2") == []


def test_a_body_failing_the_schema_is_422_with_pointers_and_writes_nothing(
    intake: Intake,
) -> None:
    with refused(422, "validation-failed") as refusal:
        intake.submit({"email": "ada@example.com", "name": ""}, idempotency_key="k1")
    assert refusal.pointers == ["/name"]
    with refused(422, "validation-failed") as refusal:
        intake.submit({"name": "Ada"}, idempotency_key="k2")
    assert refusal.pointers == ["/email"]  # the missing field itself
    assert intake.recorded("acme", "k1") == intake.recorded("acme", "k2") == []


def test_malformed_json_and_non_objects_are_400_and_write_nothing(intake: Intake) -> None:
    for raw in (b'{"email": ', b"[1, 2]", b'{"a": 1, "a": 2}'):
        with refused(400, "malformed-json"):
            intake.submit(raw=raw, idempotency_key="k1")
    assert intake.recorded("acme", "k1") == []


def test_an_idempotency_key_outside_its_pattern_is_400(intake: Intake) -> None:
    with refused(400, "invalid-idempotency-key"):
        intake.submit(idempotency_key="has space")


def test_another_tenant_cannot_submit_to_the_form_and_its_keys_are_its_own(
    intake: Intake,
) -> None:
    # Given acme's submission under a key
    intake.submit(idempotency_key="order-42")

    # Then globex, which has no form contact, gets 404 for acme's form
    with refused(404, "not-found"):
        intake.submit(tenant_id="globex", idempotency_key="order-7")

    # And once globex has its own form, the same key there is a new submission, not a replay
    register(intake.forms, "globex", "contact", SCHEMA)
    theirs = intake.submit(
        {**ADA, "name": "Gloria"}, tenant_id="globex", idempotency_key="order-42"
    )
    assert theirs.replayed is False
    [event] = intake.recorded("globex", "order-42")
    assert event.data["destinations"] == []
    [mine] = intake.recorded("acme", "order-42")
    assert mine.data["payload"] == ADA
