"""The error hierarchy: one root, one class per failure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FormrelayError(Exception):
    """Root of every error formrelay raises on purpose."""


class ConcurrencyError(FormrelayError):
    """The expected stream version was taken by another writer."""


class EventSchemaError(FormrelayError):
    """An event's data does not satisfy its registered schema."""


class UnknownEventTypeError(FormrelayError):
    """No schema is registered for an event type and version."""


class IntegrityError(FormrelayError):
    """A stream's hash chain does not verify: history was altered or lost."""


class StreamNotFoundError(FormrelayError):
    """The stream has no events (for this tenant)."""


class InvalidIdentifierError(FormrelayError):
    """An identifier does not match its strict pattern."""


class SignatureError(FormrelayError):
    """A request signature or its inputs do not verify."""


class QueueError(FormrelayError):
    """The delivery queue did not accept a job."""


class UnknownTenantError(FormrelayError):
    """No tenant is recorded under this id."""


class TenantExistsError(FormrelayError):
    """A tenant with this id exists already, with other settings."""


class InvalidRateLimitError(FormrelayError):
    """A rate limit is incomplete or out of range."""


class InvalidScopesError(FormrelayError):
    """A key's scopes are empty or name a scope that does not exist."""


class UnknownKeyError(FormrelayError):
    """The tenant has no key with this id."""


class KeyRevokedError(FormrelayError):
    """The key is revoked: its secret can no longer change."""


class RotationPendingError(FormrelayError):
    """The key has a rotation pending already: finish or cancel it first."""


class NoRotationPendingError(FormrelayError):
    """The key has no rotation pending."""


class InvalidConsoleLinkError(FormrelayError):
    """A console link's request names an unknown scope or field, or a ttl out of bounds."""


class ConsoleLinkScopeError(FormrelayError):
    """A console link would hold a scope the key asking for it does not hold."""


class BodyDigestMismatchError(SignatureError):
    """The body is not the one whose SHA-256 the signature covers."""


class UnknownFormError(FormrelayError):
    """The tenant has no form with this id (or the id is outside its pattern)."""

    def __init__(self, detail: str = "no such form") -> None:
        super().__init__(detail)


class UnknownSubmissionError(FormrelayError):
    """The tenant has no submission with this id (or the id is outside its pattern)."""

    def __init__(self, detail: str = "no such submission") -> None:
        super().__init__(detail)


class UnknownDestinationError(FormrelayError):
    """The form has no destination with this id (or the id is outside its pattern)."""

    def __init__(self, detail: str = "no such destination") -> None:
        super().__init__(detail)


@dataclass(frozen=True)
class Violation:
    """One reason a document is refused: where (a JSON pointer) and what is wrong."""

    pointer: str
    message: str


class InvalidDocumentError(FormrelayError):
    """A document fails its schema or rules; every violation is named by its pointer."""

    def __init__(self, detail: str, violations: Sequence[Violation]) -> None:
        super().__init__(detail)
        self.violations = tuple(violations)
