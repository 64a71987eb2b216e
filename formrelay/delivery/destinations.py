"""The destinations port: each form's webhooks, read by deliveries, written by admins.

The logic lives here (identifier checks); back ends implement four small
hooks. Back ends: `delivery/dynamodb.py` (the Views table) and
`delivery/memory.py` (the fake); both pass
tests/integration/test_destination_directory_contract.py.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod

from formrelay.domain.destinations import Destination
from formrelay.domain.ids import DESTINATION_ID, FORM_ID, check


def delivery_id(tenant_id: str, submission_id: str, destination_id: str) -> str:
    """The id of one (submission, destination) delivery: stable across every retry."""
    seed = f"{tenant_id}\n{submission_id}\n{destination_id}".encode()
    return "msg_" + hashlib.sha256(seed).hexdigest()[:32]


class DestinationDirectory(ABC):
    """Reads and writes destinations, always within one tenant."""

    def get(self, tenant_id: str, form_id: str, destination_id: str) -> Destination | None:
        """One destination (strongly consistent), or None."""
        return self._read(tenant_id, form_id, destination_id)

    def put(self, destination: Destination) -> None:
        """Create or replace a destination (enabled or not, as it says)."""
        check(FORM_ID, destination.form_id, "form id")
        check(DESTINATION_ID, destination.destination_id, "destination id")
        self._write(destination)

    def delete(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        """Remove a destination; True if it existed."""
        return self._remove(tenant_id, form_id, destination_id)

    def disable(self, tenant_id: str, form_id: str, destination_id: str, reason: str) -> bool:
        """Stop deliveries to a destination until it is PUT again; False if there is none."""
        return self._mark_disabled(tenant_id, form_id, destination_id, reason)

    def enable(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        """Deliver to a disabled destination again, its settings and secrets untouched;
        False if there is none."""
        return self._mark_enabled(tenant_id, form_id, destination_id)

    @abstractmethod
    def _read(self, tenant_id: str, form_id: str, destination_id: str) -> Destination | None:
        """The stored destination, or None."""

    @abstractmethod
    def _write(self, destination: Destination) -> None:
        """Store the destination, replacing any before it."""

    @abstractmethod
    def _remove(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        """Remove it; whether it existed."""

    @abstractmethod
    def _mark_disabled(
        self, tenant_id: str, form_id: str, destination_id: str, reason: str
    ) -> bool:
        """Set enabled false with the reason, if it exists (never create it); whether it did."""

    @abstractmethod
    def _mark_enabled(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        """Set enabled true and drop the reason, if it exists (never create it); whether it did."""
