"""The forms port: each tenant's forms, their versioned schemas, and their destinations.

The logic lives here (identifier checks, compiling, picking the next version,
retrying a version another writer took); back ends implement two hooks,
`_load` and `_insert_version`. Back ends: `registry/dynamodb.py` (the Views
table) and `registry/memory.py` (the fake); both pass
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

# Two writers registering a schema for one form at once each get their own version.
_VERSION_TRIES = 10


class SchemaVersionTakenError(Exception):
    """Raised by a back end's `_insert_version` when that version exists (internal)."""


class FormBusyError(FormrelayError):
    """Other writers kept registering schemas for this form: try again."""


@dataclass(frozen=True)
class Form:
    """A form at its current schema version, with its destinations."""

    tenant_id: str
    form_id: str
    schema_version: int
    schema: CompiledSchema
    destinations: tuple[Destination, ...]


@dataclass(frozen=True)
class StoredForm:
    """What a back end holds for a form: its current version, that schema, its destinations."""

    version: int
    schema: dict[str, Any]
    destinations: tuple[Destination, ...]


class FormCatalog(ABC):
    """Forms, read with their current schema and destinations; schemas added as new versions."""

    def load(self, tenant_id: str, form_id: str) -> Form | None:
        """A form with its current schema and destinations, or None (never another tenant's)."""
        stored = self._load(tenant_id, form_id)
        if stored is None:
            return None
        return Form(
            tenant_id=tenant_id,
            form_id=form_id,
            schema_version=stored.version,
            schema=CompiledSchema(stored.schema),
            destinations=stored.destinations,
        )

    def put_schema(self, tenant_id: str, form_id: str, schema: dict[str, Any]) -> int:
        """Register a new schema version for a form (creating the form); return its version."""
        check(FORM_ID, form_id, "form id")
        CompiledSchema(schema)  # refuse a schema that does not compile
        for _ in range(_VERSION_TRIES):
            current = self._load(tenant_id, form_id)
            version = 1 if current is None else current.version + 1
            try:
                self._insert_version(tenant_id, form_id, version, schema)
            except SchemaVersionTakenError:
                continue  # another writer took it: take the next one
            return version
        raise FormBusyError(f"form {form_id} kept getting new schema versions")

    @abstractmethod
    def _load(self, tenant_id: str, form_id: str) -> StoredForm | None:
        """The form's current version, schema and destinations (strongly consistent), or None."""

    @abstractmethod
    def _insert_version(
        self, tenant_id: str, form_id: str, version: int, schema: dict[str, Any]
    ) -> None:
        """Store schema `version` and make it current, all or nothing;
        raise SchemaVersionTakenError if that version exists."""
