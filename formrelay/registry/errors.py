"""The registry's errors: schemas that are not schemas, versions that do not evolve."""

from __future__ import annotations

from formrelay.domain.errors import FormrelayError


class InvalidSchemaError(FormrelayError):
    """A document is not a valid JSON Schema (draft-07)."""


class EventRegistryError(FormrelayError):
    """The event-schema registry on disk is broken: its manifest or version layout."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)
