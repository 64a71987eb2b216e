"""In-memory fakes of the audit ports, for unit tests (each passes its port's contract)."""

from __future__ import annotations

import threading

from formrelay.audit.anchor_store import AnchorStore
from formrelay.audit.heads import AnchoredHead, AnchoredHeads


class InMemoryAnchorStore(AnchorStore):
    """Anchor objects in a dict; `objects` is there for tests that tamper with them."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _create(self, key: str, body: bytes) -> bool:
        with self._lock:
            if key in self.objects:
                return False
            self.objects[key] = body
            return True

    def _get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def _keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))


class InMemoryAnchoredHeads(AnchoredHeads):
    """Anchored heads in a dict keyed by tenant and stream."""

    def __init__(self) -> None:
        self.heads: dict[tuple[str, str], AnchoredHead] = {}
        self._lock = threading.Lock()

    def _get(self, tenant_id: str, submission_id: str) -> AnchoredHead | None:
        return self.heads.get((tenant_id, submission_id))

    def _put_if_later(self, tenant_id: str, head: AnchoredHead) -> None:
        with self._lock:
            held = self.heads.get((tenant_id, head.submission_id))
            if held is None or held.anchor_id < head.anchor_id:
                self.heads[(tenant_id, head.submission_id)] = head
