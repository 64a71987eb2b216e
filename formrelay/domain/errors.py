"""The error hierarchy: one root, one class per failure."""

from __future__ import annotations


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
