"""Accepting a submission: form, schema, one append. Nothing else is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from formrelay.api.problems import Problem, bad_request, not_found
from formrelay.auth.signing import body_sha256
from formrelay.domain.errors import ConcurrencyError, InvalidIdentifierError
from formrelay.domain.events import SUBMISSION_RECEIVED, NewEvent, RecordedEvent, StreamId
from formrelay.domain.ids import FORM_ID, SUBMISSION_ID, check, new_id
from formrelay.domain.strict_json import MalformedJsonError, parse_body
from formrelay.registry.forms import FormCatalog
from formrelay.store.port import EventStore

# A submission body over this many bytes is refused (413): forms are small, and
# a DynamoDB item (the received event with its payload) holds at most 400 KB.
MAX_SUBMISSION_BYTES = 256 * 1024


@dataclass(frozen=True)
class IntakeRequest:
    """A submission request as the ingest handler received it."""

    tenant_id: str
    key_id: str
    form_id: str
    body: bytes
    correlation_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Accepted:
    """A submission on record: a new one, or the original answer to a repeat."""

    submission_id: str
    replayed: bool

    def body(self) -> dict[str, Any]:
        """The 202 answer."""
        base = f"/v1/submissions/{self.submission_id}"
        return {
            "submission_id": self.submission_id,
            "status": "received",
            "links": {"self": base, "events": f"{base}/events"},
        }


def accept_submission(
    request: IntakeRequest, *, forms: FormCatalog, events: EventStore
) -> Accepted:
    """Record submission.received for a valid body; a Problem for anything else."""
    # The shared HTTP app has already bound the body to its signed digest (every route).
    digest = body_sha256(request.body)
    try:
        check(FORM_ID, request.form_id, "form id")
    except InvalidIdentifierError as exc:
        raise not_found("no such form") from exc
    submission_id = _submission_id(request.idempotency_key)
    try:
        payload = parse_body(request.body)
    except MalformedJsonError as exc:
        raise bad_request(str(exc), "malformed-json") from exc
    if not isinstance(payload, dict):
        raise bad_request("the body must be a JSON object", "malformed-json")
    form = forms.load(request.tenant_id, request.form_id)
    if form is None:
        raise not_found("no such form")
    violations = form.schema.violations(payload)
    if violations:
        raise Problem(
            422,
            "validation-failed",
            "Submission does not match the form's schema",
            f"{len(violations)} error(s) against {request.form_id} schema v{form.schema_version}",
            errors=[{"pointer": v.pointer, "message": v.message} for v in violations],
        )
    received = NewEvent(
        type=SUBMISSION_RECEIVED,
        correlation_id=request.correlation_id,
        data={
            "form_id": request.form_id,
            "form_schema_version": form.schema_version,
            "key_id": request.key_id,
            "body_sha256": digest,
            "idempotency_key": request.idempotency_key,
            "payload": payload,
            # Every destination, disabled ones too: their delivery fails on record, visibly,
            # and can be redelivered once the destination is enabled again.
            "destinations": [d.destination_id for d in form.destinations],
        },
    )
    stream = StreamId(request.tenant_id, submission_id)
    try:
        events.append(stream, [received], expected_version=0)
    except ConcurrencyError as exc:
        return _repeat(events.read(stream, verify=False), request, digest, submission_id, exc)
    return Accepted(submission_id, replayed=False)


def _submission_id(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return new_id()
    try:
        return check(SUBMISSION_ID, idempotency_key, "Idempotency-Key")
    except InvalidIdentifierError as exc:
        raise bad_request(
            "Idempotency-Key must be 1-128 characters of letters, digits, '.', '_' or '-'",
            "invalid-idempotency-key",
        ) from exc


def _repeat(
    history: list[RecordedEvent],
    request: IntakeRequest,
    digest: str,
    submission_id: str,
    cause: Exception,
) -> Accepted:
    first = history[0] if history else None
    if (
        first is not None
        and first.type == SUBMISSION_RECEIVED
        and first.data.get("body_sha256") == digest
        and first.data.get("form_id") == request.form_id
    ):
        return Accepted(submission_id, replayed=True)
    raise Problem(
        409,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        "this Idempotency-Key was used with a different request",
    ) from cause
