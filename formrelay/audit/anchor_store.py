"""The anchor store port: write-once anchor objects, one per tenant and sequence number.

The logic lives here; a back end implements three hooks over raw objects
(`_create`, `_get`, `_keys`). On AWS the back end is an S3 bucket with Object
Lock in compliance mode, so not even the account's root user can change or
delete an anchor before its retention ends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from formrelay.audit.anchors import Anchor, anchor_key, anchor_prefix
from formrelay.audit.errors import AnchorConflictError

_SUFFIX = ".json"


class AnchorStore(ABC):
    """Anchor objects: written once, read back by tenant and sequence number."""

    def put(self, anchor: Anchor) -> None:
        """Keep an anchor. The same anchor again writes nothing; another anchor under the
        same sequence number raises AnchorConflictError."""
        body = anchor.to_bytes()
        if self._create(anchor.key, body):
            return
        if self._get(anchor.key) != body:
            raise AnchorConflictError(
                f"anchor {anchor.anchor_id} of tenant {anchor.tenant_id} exists and differs"
            )

    def get(self, tenant_id: str, sequence: int) -> Anchor | None:
        """An anchor, or None if there is no object; AnchorDocumentError if its object
        is not a whole, self-consistent anchor."""
        raw = self._get(anchor_key(tenant_id, sequence))
        return None if raw is None else Anchor.from_bytes(raw)

    def raw(self, tenant_id: str, sequence: int) -> bytes | None:
        """An anchor object's bytes as stored (for offline checks), or None."""
        return self._get(anchor_key(tenant_id, sequence))

    def sequences(self, tenant_id: str) -> list[int]:
        """The sequence numbers of the tenant's anchor objects, in order."""
        prefix = anchor_prefix(tenant_id)
        found = []
        for key in self._keys(prefix):
            name = key.removeprefix(prefix).removesuffix(_SUFFIX)
            if key.endswith(_SUFFIX) and name.isascii() and name.isdigit():
                found.append(int(name))
        return sorted(found)

    @abstractmethod
    def _create(self, key: str, body: bytes) -> bool:
        """Write an object unless one exists under key; False if one does."""

    @abstractmethod
    def _get(self, key: str) -> bytes | None:
        """An object's bytes, or None."""

    @abstractmethod
    def _keys(self, prefix: str) -> list[str]:
        """Every key under prefix."""
