"""In-memory forms: the fake used by unit tests, held to the same contract."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from formrelay.domain.destinations import Destination
from formrelay.registry.forms import (
    FormCatalog,
    FormChangedError,
    FormHead,
    FormHistory,
    StoredForm,
)

# Where a form's destinations come from: in the Views table they share the form's
# partition; here the destinations fake is asked (InMemoryDestinationDirectory.for_form).
DestinationsOf = Callable[[str, str], tuple[Destination, ...]]


def _none(tenant_id: str, form_id: str) -> tuple[Destination, ...]:
    return ()


@dataclass
class _Stored:
    head: FormHead
    schemas: list[dict[str, Any]] = field(default_factory=list)


class InMemoryFormCatalog(FormCatalog):
    """Forms in a dict, guarded by a lock so a head changes only from the one a write read."""

    def __init__(self, destinations: DestinationsOf = _none) -> None:
        self._forms: dict[tuple[str, str], _Stored] = {}
        self._destinations = destinations
        self._lock = threading.Lock()

    def _load(self, tenant_id: str, form_id: str) -> StoredForm | None:
        with self._lock:
            stored = self._forms.get((tenant_id, form_id))
            if stored is None:
                return None
            head, schema = stored.head, copy.deepcopy(stored.schemas[-1])
        return StoredForm(
            head.version, head.compatibility, schema, self._destinations(tenant_id, form_id)
        )

    def _history(self, tenant_id: str, form_id: str) -> FormHistory | None:
        with self._lock:
            stored = self._forms.get((tenant_id, form_id))
            if stored is None:
                return None
            return FormHistory(stored.head, tuple(copy.deepcopy(stored.schemas)))

    def _schema_at(self, tenant_id: str, form_id: str, version: int) -> dict[str, Any] | None:
        with self._lock:
            stored = self._forms.get((tenant_id, form_id))
            if stored is None or version > len(stored.schemas):
                return None
            return copy.deepcopy(stored.schemas[version - 1])

    def _heads(self, tenant_id: str) -> list[FormHead]:
        with self._lock:
            return [
                stored.head for (tenant, _), stored in self._forms.items() if tenant == tenant_id
            ]

    def _insert_version(
        self,
        tenant_id: str,
        head: FormHead,
        schema: dict[str, Any],
        expected: FormHead | None,
    ) -> None:
        key = (tenant_id, head.form_id)
        with self._lock:
            stored = self._forms.get(key)
            if (None if stored is None else stored.head) != expected:
                raise FormChangedError(head.form_id)
            if stored is None:
                stored = self._forms[key] = _Stored(head)
            stored.schemas.append(copy.deepcopy(schema))
            stored.head = head

    def _replace_head(
        self,
        tenant_id: str,
        head: FormHead,
        schema: dict[str, Any],
        expected: FormHead,
    ) -> None:
        with self._lock:
            stored = self._forms.get((tenant_id, head.form_id))
            if stored is None or stored.head != expected:
                raise FormChangedError(head.form_id)
            stored.head = head
