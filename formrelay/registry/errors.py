"""The registry's errors: schemas that are not schemas, versions that do not evolve."""

from __future__ import annotations

from collections.abc import Sequence

from formrelay.domain.errors import (
    FormrelayError,
    InvalidDocumentError,
    UnknownFormError,
    Violation,
)
from formrelay.registry.verdicts import Incompatibility, Undecided, Verdict


class InvalidSchemaError(FormrelayError):
    """A document is not a valid JSON Schema (draft-07)."""


class InvalidFormIdError(FormrelayError):
    """A form to be registered has an id outside its pattern."""


class UnknownCompatibilityError(InvalidDocumentError):
    """A compatibility mode is not one of the modes there are."""

    def __init__(self, given: object, modes: Sequence[str]) -> None:
        message = f"{given!r} is not one of {', '.join(modes)}"
        super().__init__(
            f"unknown compatibility mode {given!r}", [Violation("/compatibility", message)]
        )


class IncompatibleSchemaError(FormrelayError):
    """A new schema version is not compatible with the form's history under its mode."""

    def __init__(self, form_id: str, verdict: Verdict) -> None:
        found = len(verdict.incompatibilities)
        super().__init__(
            f"the schema is not {verdict.mode.value} compatible with form {form_id}: "
            f"{found} incompatibilit{'y' if found == 1 else 'ies'}"
        )
        self.verdict = verdict

    @property
    def incompatibilities(self) -> tuple[Incompatibility, ...]:
        """Every incompatibility the checker found."""
        return self.verdict.incompatibilities


class CompatibilityUndecidedError(FormrelayError):
    """The checker could not decide whether a new schema version is compatible: refused."""

    def __init__(self, form_id: str, verdict: Verdict) -> None:
        found = len(verdict.undecided)
        super().__init__(
            f"whether the schema is {verdict.mode.value} compatible with form {form_id} "
            f"cannot be decided ({found} construct{'' if found == 1 else 's'}), so it is "
            'not registered; with "compatibility": "NONE" it registers unchecked'
        )
        self.verdict = verdict

    @property
    def undecided(self) -> tuple[Undecided, ...]:
        """What the checker could not decide."""
        return self.verdict.undecided


class EventRegistryError(FormrelayError):
    """The event-schema registry on disk is broken: its manifest or version layout."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


class FormPutInvalidError(InvalidDocumentError):
    """A form's PUT body fails its schema (schemas/api/form_put.json)."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(f"{len(violations)} error(s) in the form's registration", violations)


class UnknownFormVersionError(UnknownFormError):
    """The form has no schema version of this number (or the number is not one)."""

    def __init__(self) -> None:
        super().__init__("no such version of this form")


class InvalidCompatibilityQueryError(FormrelayError):
    """A compatibility read's query is malformed: versions missing, not numbers, or equal;
    an unknown mode or parameter."""
