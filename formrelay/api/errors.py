"""The one map from domain errors to HTTP answers: status, problem type and title.

Use cases raise domain errors and know nothing of HTTP; this table says what
each one answers. The problem's `detail` is the error's own message, and an
error that names what is wrong adds it as `errors`: violations of a document as
`[{pointer, message}]`, a schema's incompatibilities as `[{pointer, reason,
witness?}]`, what the checker could not decide as `[{pointer, reason}]`. A
subclass answers as its nearest listed ancestor. A FormrelayError that is not
listed is not the client's doing: it answers a bare 500 like any other bug
(tests/unit/test_error_map.py holds every error class to one or the other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from formrelay.api.problems import Problem
from formrelay.delivery.errors import (
    DeliveryInProgressError,
    DestinationInvalidError,
    DestinationsBusyError,
    InvalidDestinationIdError,
    InvalidRedeliveryOptionsError,
    SubmissionChangedError,
    UnknownDeliveryError,
)
from formrelay.delivery.ssrf import DestinationResolutionTimeoutError
from formrelay.domain.errors import (
    BodyDigestMismatchError,
    ConsoleLinkScopeError,
    FormrelayError,
    InvalidConsoleLinkError,
    InvalidDocumentError,
    UnknownDestinationError,
    UnknownFormError,
    UnknownSubmissionError,
)
from formrelay.domain.strict_json import MalformedJsonError
from formrelay.intake.errors import (
    IdempotencyKeyReusedError,
    InvalidIdempotencyKeyError,
    SubmissionInvalidError,
    SubmissionNotAnObjectError,
)
from formrelay.registry.errors import (
    CompatibilityUndecidedError,
    FormPutInvalidError,
    IncompatibleSchemaError,
    InvalidCompatibilityQueryError,
    InvalidFormIdError,
    InvalidSchemaError,
    UnknownCompatibilityError,
)
from formrelay.registry.forms import FormBusyError
from formrelay.views.errors import (
    InvalidCursorError,
    InvalidListingQueryError,
    ListingRefusedError,
)


@dataclass(frozen=True)
class Answer:
    """What an error class answers: its status, problem type (slug) and title."""

    status: int
    slug: str
    title: str


_BAD_REQUEST = Answer(400, "bad-request", "Bad request")
_MALFORMED_JSON = Answer(400, "malformed-json", "Bad request")
_NOT_FOUND = Answer(404, "not-found", "Not found")
_FORM_INVALID = Answer(422, "validation-failed", "Form registration is invalid")

ANSWERS: Mapping[type[FormrelayError], Answer] = {
    # Any request
    BodyDigestMismatchError: Answer(401, "digest-mismatch", "Unauthorized"),
    MalformedJsonError: _MALFORMED_JSON,
    # Another tenant's resources are as absent as resources that never were: 404, never 403.
    UnknownFormError: _NOT_FOUND,
    UnknownSubmissionError: _NOT_FOUND,
    UnknownDestinationError: _NOT_FOUND,
    UnknownDeliveryError: _NOT_FOUND,
    # Submissions
    SubmissionNotAnObjectError: _MALFORMED_JSON,
    InvalidIdempotencyKeyError: Answer(400, "invalid-idempotency-key", "Bad request"),
    IdempotencyKeyReusedError: Answer(409, "idempotency-key-reused", "Idempotency-Key reused"),
    SubmissionInvalidError: Answer(
        422, "validation-failed", "Submission does not match the form's schema"
    ),
    # Destinations
    InvalidDestinationIdError: Answer(400, "invalid-destination-id", "Bad request"),
    DestinationInvalidError: Answer(422, "validation-failed", "Destination is invalid"),
    # The URL may be fine and its DNS slow: the client may try again (422, not a 5xx).
    DestinationResolutionTimeoutError: Answer(
        422, "destination-resolution-timeout", "Destination host did not resolve in time"
    ),
    DestinationsBusyError: Answer(409, "concurrent-update", "Concurrent update"),
    # Registering a form schema
    FormBusyError: Answer(409, "concurrent-update", "Concurrent update"),
    InvalidFormIdError: Answer(400, "invalid-form-id", "Bad request"),
    InvalidSchemaError: Answer(422, "invalid-schema", "Not a JSON Schema (draft-07)"),
    FormPutInvalidError: _FORM_INVALID,
    UnknownCompatibilityError: _FORM_INVALID,
    IncompatibleSchemaError: Answer(409, "incompatible-schema", "Incompatible schema"),
    CompatibilityUndecidedError: Answer(
        409, "compatibility-undecided", "Compatibility cannot be decided"
    ),
    # Comparing two versions
    InvalidCompatibilityQueryError: _BAD_REQUEST,
    # Redelivery
    InvalidRedeliveryOptionsError: _BAD_REQUEST,
    DeliveryInProgressError: Answer(409, "delivery-in-progress", "Delivery in progress"),
    SubmissionChangedError: Answer(409, "concurrent-change", "Conflict"),
    # Console links: a link may hold no scope its maker's key lacks.
    InvalidConsoleLinkError: Answer(400, "invalid-console-link", "Bad request"),
    ConsoleLinkScopeError: Answer(403, "scope-exceeded", "Forbidden"),
    # The listing
    InvalidListingQueryError: _BAD_REQUEST,
    InvalidCursorError: _BAD_REQUEST,
    ListingRefusedError: _BAD_REQUEST,  # DynamoDB's ValidationException: never retried
}


def answer_for(error_class: type[BaseException]) -> Answer | None:
    """The answer of an error class: its own, or its nearest listed ancestor's."""
    for cls in error_class.__mro__:
        answer = ANSWERS.get(cls)
        if answer is not None:
            return answer
    return None


def problem_for(error: FormrelayError) -> Problem | None:
    """The problem a domain error answers; None if it is not the client's doing (a 500)."""
    answer = answer_for(type(error))
    if answer is None:
        return None
    return Problem(answer.status, answer.slug, answer.title, str(error), errors=items_of(error))


def items_of(error: FormrelayError) -> list[dict[str, Any]]:
    """What an error names as wrong, one item each, as the problem's `errors` lists them."""
    if isinstance(error, InvalidDocumentError):
        return [{"pointer": v.pointer, "message": v.message} for v in error.violations]
    if isinstance(error, IncompatibleSchemaError):
        return [incompatibility.as_dict() for incompatibility in error.incompatibilities]
    if isinstance(error, CompatibilityUndecidedError):
        return [undecided.as_dict() for undecided in error.undecided]
    return []
