"""The registry's errors: schemas that are not schemas, versions that do not evolve."""

from __future__ import annotations

from formrelay.domain.errors import FormrelayError


class InvalidSchemaError(FormrelayError):
    """A document is not a valid JSON Schema (draft-07)."""
