"""The forms port: each tenant's forms, their versioned schemas, and their destinations.

A form has schema versions 1..n, each stored once and never changed, a current
version (n) and a compatibility mode, both on the form's head. Every write is
based on the head as read: it is made only if the head is still that one, so a
registration checked against one history can never land on another (the
registration use case reads again and re-checks). The logic lives here
(identifier checks, compiling, what a write is based on); back ends implement
small hooks. Back ends: `registry/dynamodb.py` (the Views table) and
`registry/memory.py` (the fake); both pass
tests/integration/test_form_catalog_contract.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from formrelay.domain.destinations import Destination
from formrelay.domain.errors import FormrelayError
from formrelay.domain.ids import FORM_ID, check
from formrelay.registry.schemas import CompiledSchema
from formrelay.registry.verdicts import Mode


class FormChangedError(Exception):
    """Raised by a write when the form's head is no longer the one it was based on (internal)."""


class FormBusyError(FormrelayError):
    """Other writers kept changing this form's schemas: try again."""


@dataclass(frozen=True)
class FormHead:
    """A form's head: its current schema version (= how many it has) and compatibility mode."""

    form_id: str
    version: int
    compatibility: Mode


@dataclass(frozen=True)
class Form:
    """A form at its current schema version, with its destinations."""

    tenant_id: str
    form_id: str
    schema_version: int
    schema: CompiledSchema
    destinations: tuple[Destination, ...]
    compatibility: Mode = Mode.BACKWARD

    @property
    def head(self) -> FormHead:
        """The head this form was read at: what a write based on it expects."""
        return FormHead(self.form_id, self.schema_version, self.compatibility)


@dataclass(frozen=True)
class FormHistory:
    """Every schema version of a form, oldest first, and its head."""

    head: FormHead
    schemas: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class StoredForm:
    """What a back end holds for a form's head: version, mode, that schema, its destinations."""

    version: int
    compatibility: Mode
    schema: dict[str, Any]
    destinations: tuple[Destination, ...]


class FormCatalog(ABC):
    """Forms, read at their current schema with destinations; schemas added as new versions."""

    def load(self, tenant_id: str, form_id: str) -> Form | None:
        """A form with its current schema and destinations, or None (never another tenant's)."""
        if not _well_formed(form_id):
            return None
        stored = self._load(tenant_id, form_id)
        if stored is None:
            return None
        return Form(
            tenant_id=tenant_id,
            form_id=form_id,
            schema_version=stored.version,
            schema=CompiledSchema(stored.schema),
            destinations=stored.destinations,
            compatibility=stored.compatibility,
        )

    def history(self, tenant_id: str, form_id: str) -> FormHistory | None:
        """Every schema version of a form, oldest first (for transitive checks), or None."""
        if not _well_formed(form_id):
            return None
        return self._history(tenant_id, form_id)

    def schema_at(self, tenant_id: str, form_id: str, version: int) -> dict[str, Any] | None:
        """One schema version of a form as registered, or None."""
        if not _well_formed(form_id) or version < 1:
            return None
        return self._schema_at(tenant_id, form_id, version)

    def heads(self, tenant_id: str) -> list[FormHead]:
        """The tenant's forms, ordered by id."""
        return sorted(self._heads(tenant_id), key=lambda head: head.form_id)

    def add_version(
        self,
        tenant_id: str,
        form_id: str,
        schema: dict[str, Any],
        compatibility: Mode,
        *,
        after: FormHead | None,
    ) -> FormHead:
        """Store schema as the version after `after` (None: a new form's first) and make it
        current under compatibility; FormChangedError if the head is no longer `after`."""
        check(FORM_ID, form_id, "form id")
        CompiledSchema(schema)  # refuse a schema that does not compile
        head = FormHead(form_id, 1 if after is None else after.version + 1, Mode(compatibility))
        self._insert_version(tenant_id, head, schema, after)
        return head

    def set_compatibility(
        self, tenant_id: str, history: FormHistory, compatibility: Mode
    ) -> FormHead:
        """Change the mode of a form read as `history`; FormChangedError if its head changed."""
        read = history.head
        head = FormHead(read.form_id, read.version, Mode(compatibility))
        self._replace_head(tenant_id, head, history.schemas[-1], read)
        return head

    @abstractmethod
    def _load(self, tenant_id: str, form_id: str) -> StoredForm | None:
        """The form's head, current schema and destinations (strongly consistent), or None;
        never any older schema version (ingest reads this on every submission)."""

    @abstractmethod
    def _history(self, tenant_id: str, form_id: str) -> FormHistory | None:
        """The form's head and every schema version, oldest first (strongly consistent)."""

    @abstractmethod
    def _schema_at(self, tenant_id: str, form_id: str, version: int) -> dict[str, Any] | None:
        """One stored schema version, or None."""

    @abstractmethod
    def _heads(self, tenant_id: str) -> list[FormHead]:
        """Every form head of the tenant (one query of its own partition, never a scan)."""

    @abstractmethod
    def _insert_version(
        self,
        tenant_id: str,
        head: FormHead,
        schema: dict[str, Any],
        expected: FormHead | None,
    ) -> None:
        """Store schema as version head.version and the new head, all or nothing, only if
        the stored head is `expected` (None: there is none); else FormChangedError."""

    @abstractmethod
    def _replace_head(
        self,
        tenant_id: str,
        head: FormHead,
        schema: dict[str, Any],
        expected: FormHead,
    ) -> None:
        """Replace the head (same version, schema as current) only if the stored head is
        `expected`; else FormChangedError."""


def _well_formed(form_id: str) -> bool:
    return FORM_ID.fullmatch(form_id) is not None
