"""In-memory secret documents: the fake used by unit tests, held to the same contract.

Documents live in an `InMemorySecretVault` (the stand-in for Secrets Manager),
stored as JSON text as the real one stores them; each `InMemorySecretDocuments`
over it has a cache of its own, as each Lambda container does. Two instances
over one vault are two containers: one may serve a cached document the other
has changed since, until its max-age passes.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from formrelay.secrets.port import (
    Document,
    SecretDocumentError,
    SecretDocuments,
    VersionMovedError,
)


class InMemorySecretVault:
    """Every document's latest version, as JSON text, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, tuple[str, str]] = {}  # name -> (text, version)

    def latest(self, name: str) -> tuple[str, str] | None:
        """The latest version's text and id, or None."""
        with self._lock:
            return self._versions.get(name)

    def swap(self, name: str, document: Document, version: str | None) -> None:
        """Store document if `version` is still the latest (None: none yet), atomically."""
        text = json.dumps(document, sort_keys=True)
        with self._lock:
            found = self._versions.get(name)
            if (found[1] if found else None) != version:
                raise VersionMovedError(name)
            self._versions[name] = (text, uuid.uuid4().hex)

    def put_text(self, name: str, text: str) -> None:
        """Store raw text as the latest version, unconditionally (what an outside tool may do)."""
        with self._lock:
            self._versions[name] = (text, uuid.uuid4().hex)


class InMemorySecretDocuments(SecretDocuments):
    """Secret documents in a vault, read through a max-age cache of this instance's own."""

    def __init__(
        self,
        vault: InMemorySecretVault | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.vault = vault if vault is not None else InMemorySecretVault()
        self._cache: dict[str, object] = {}  # name -> the document as last fetched
        self._cache_lock = threading.Lock()

    def _read_cached(self, name: str, *, force: bool) -> object | None:
        # A missing document is not cached, as Powertools caches none.
        with self._cache_lock:
            cached = self._cache.get(name)
        if cached is not None and not force:
            return cached
        latest = self._read_latest(name)
        if latest is None:
            return None
        with self._cache_lock:
            self._cache[name] = latest[0]
        return latest[0]

    def _read_latest(self, name: str) -> tuple[object, str] | None:
        latest = self.vault.latest(name)
        if latest is None:
            return None
        text, version = latest
        try:
            return json.loads(text), version
        except ValueError as exc:
            raise SecretDocumentError(f"secret {name} does not hold JSON") from exc

    def _swap(self, name: str, document: Document, version: str | None) -> None:
        self.vault.swap(name, document, version)
