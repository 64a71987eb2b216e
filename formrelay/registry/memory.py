"""In-memory forms: the fake used by unit tests, held to the same contract."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from formrelay.domain.destinations import Destination
from formrelay.registry.forms import FormCatalog, SchemaVersionTakenError, StoredForm

# Where a form's destinations come from: in the Views table they share the form's
# partition; here the destinations fake is asked (InMemoryDestinationDirectory.for_form).
DestinationsOf = Callable[[str, str], tuple[Destination, ...]]


def _none(tenant_id: str, form_id: str) -> tuple[Destination, ...]:
    return ()


class InMemoryFormCatalog(FormCatalog):
    """Schema versions in a dict, guarded by a lock so a version is inserted once."""

    def __init__(self, destinations: DestinationsOf = _none) -> None:
        self._schemas: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
        self._destinations = destinations
        self._lock = threading.Lock()

    def _load(self, tenant_id: str, form_id: str) -> StoredForm | None:
        with self._lock:
            versions = self._schemas.get((tenant_id, form_id))
            if not versions:
                return None
            current = max(versions)
            schema = copy.deepcopy(versions[current])
        return StoredForm(current, schema, self._destinations(tenant_id, form_id))

    def _insert_version(
        self, tenant_id: str, form_id: str, version: int, schema: dict[str, Any]
    ) -> None:
        with self._lock:
            versions = self._schemas.setdefault((tenant_id, form_id), {})
            if version in versions:
                raise SchemaVersionTakenError(version)
            versions[version] = copy.deepcopy(schema)
