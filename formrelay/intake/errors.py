"""What accepting a submission refuses, and why: one class per failure."""

from __future__ import annotations

from collections.abc import Sequence

from formrelay.domain.errors import FormrelayError, InvalidDocumentError, Violation
from formrelay.domain.strict_json import MalformedJsonError


class SubmissionNotAnObjectError(MalformedJsonError):
    """The submission is JSON, but not a JSON object."""

    def __init__(self) -> None:
        super().__init__("the body must be a JSON object")


class InvalidIdempotencyKeyError(FormrelayError):
    """The Idempotency-Key header is outside its pattern."""

    def __init__(self) -> None:
        super().__init__(
            "Idempotency-Key must be 1-128 characters of letters, digits, '.', '_' or '-'"
        )


class IdempotencyKeyReusedError(FormrelayError):
    """The Idempotency-Key names a submission made with another request."""

    def __init__(self, submission_id: str) -> None:
        super().__init__("this Idempotency-Key was used with a different request")
        self.submission_id = submission_id


class SubmissionInvalidError(InvalidDocumentError):
    """The submission fails its form's current schema."""

    def __init__(self, form_id: str, schema_version: int, violations: Sequence[Violation]) -> None:
        super().__init__(
            f"{len(violations)} error(s) against {form_id} schema v{schema_version}", violations
        )
        self.form_id = form_id
        self.schema_version = schema_version
