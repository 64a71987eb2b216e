"""The secret-document port: one JSON object per name, read cached, changed by compare-and-swap.

Tenants' key secrets and destinations' credentials are each one document per
tenant (a secret costs money every month; keys and destinations are many), and
several writers (operators, admin functions) may change one document at once.
So a write never overwrites blindly: `update` reads the latest version, applies
the change to a copy, and stores the result only if that version is still the
latest. A writer that lost the race reads again and reapplies its change, with a
bounded number of tries and jittered, growing waits, then gives up with
SecretDocumentBusyError (nothing of its change is stored).

The logic lives here; back ends implement three small hooks (`_read_cached`,
`_read_latest`, `_swap`), like the event store port. Every back end passes the
same contract suite (tests/integration/test_secret_documents_contract.py).
"""

from __future__ import annotations

import copy
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from formrelay.domain.errors import FormrelayError

T = TypeVar("T")
Document = dict[str, Any]

DEFAULT_TRIES = 10
DEFAULT_BACKOFF_SECONDS = 0.05
DEFAULT_MAX_BACKOFF_SECONDS = 1.0


class SecretDocumentError(FormrelayError):
    """A secret document could not be read, or does not hold a JSON object."""


class SecretDocumentBusyError(FormrelayError):
    """Other writers kept changing a secret document: nothing was saved, try again."""


class VersionMovedError(Exception):
    """Raised by a back end's `_swap` when the document moved past the version read (internal)."""


@dataclass(frozen=True)
class VersionedDocument:
    """A document as stored now, and its version (None: there is no document yet)."""

    document: Document
    version: str | None


class SecretDocuments(ABC):
    """JSON documents by name: cached reads, and writes that never lose a rival's change.

    tries: how many read-change-swap rounds `update` makes before it gives up.
    Between rounds it waits `jitter(0, min(max_backoff, backoff * 2**round))`
    seconds ("full jitter"), so rival writers spread out instead of colliding again.
    """

    def __init__(
        self,
        *,
        tries: int = DEFAULT_TRIES,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if tries < 1:
            raise ValueError("tries must be at least 1")
        self.tries = tries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        # Names this instance wrote: its next cached read of each fetches anew.
        self._written: set[str] = set()
        # When each name was last fetched, on the injected clock: the cache's age is
        # decided here, so a test can let it expire without sleeping.
        self._fetched_at: dict[str, float] = {}

    def read(self, name: str, *, max_age: float, refetch: bool = False) -> Document:
        """The document ({} if there is none), from this instance's cache if under max_age s old.

        refetch: fetch it anew whatever the cache holds. A document this instance
        wrote is fetched anew on its next read (a writer reads its own writes).
        """
        now = self._clock()
        fetched_at = self._fetched_at.get(name)
        # Powertools' rule: an entry lives max_age s after its fetch; 0 or less caches nothing.
        stale = fetched_at is None or max_age <= 0 or now - fetched_at > max_age
        force = refetch or stale or name in self._written
        found = self._read_cached(name, force=force)
        self._written.discard(name)
        if force:
            self._fetched_at[name] = now
        if found is None:
            return {}
        # A copy: the cache's own object must not change when a caller edits what it read.
        return copy.deepcopy(_object(name, found))

    def read_latest(self, name: str) -> VersionedDocument:
        """The document as stored now (never cached) and its version: what a write starts from."""
        found = self._read_latest(name)
        if found is None:
            return VersionedDocument({}, None)
        document, version = found
        return VersionedDocument(_object(name, document), version)

    def update(self, name: str, change: Callable[[Document], T]) -> T:
        """Apply change to the latest document and store it, unless a rival stored first.

        change edits the document it is given (a fresh copy each round) and returns
        what update returns. A change that leaves the document as it was stores
        nothing; an error raised by change stops the update with nothing stored.
        On a lost race the change is applied again to the rival's version.
        SecretDocumentBusyError after `tries` lost races.
        """
        for round_ in range(self.tries):
            latest = self.read_latest(name)
            document = copy.deepcopy(latest.document)
            result = change(document)
            if document == latest.document:
                return result
            try:
                self._swap(name, document, latest.version)
            except VersionMovedError:
                if round_ + 1 < self.tries:
                    self._sleep(self.backoff(round_))
                continue
            self._written.add(name)
            return result
        raise SecretDocumentBusyError(f"secret {name} kept changing: {self.tries} tries lost")

    def backoff(self, round_: int) -> float:
        """Seconds to wait after losing round `round_` (0-based): full jitter, capped."""
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2**round_)
        return self._jitter(0.0, ceiling)

    @abstractmethod
    def _read_cached(self, name: str, *, force: bool) -> object | None:
        """The parsed document as last fetched (fetched anew if force); None if none."""

    @abstractmethod
    def _read_latest(self, name: str) -> tuple[object, str] | None:
        """The parsed document as stored now and its version (uncached); None if none."""

    @abstractmethod
    def _swap(self, name: str, document: Document, version: str | None) -> None:
        """Store document as the latest if `version` still is (None: if there is none yet).

        Raise VersionMovedError otherwise, having changed nothing a reader sees.
        """


def _object(name: str, document: object) -> Document:
    if not isinstance(document, dict):
        raise SecretDocumentError(f"secret {name} does not hold a JSON object")
    return document
