"""In-memory delivery ports: the fakes used by unit tests, each held to its port's contract.

Each keeps its state behind a lock, as the real back ends are atomic per
write, and exposes what a test needs to look at (the jobs queued, the retry
executions started) beside the port's own methods.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from formrelay.delivery.destinations import DestinationDirectory
from formrelay.delivery.jobs import DeliveryJob, DeliveryQueue
from formrelay.delivery.leases import DeliveryLeases
from formrelay.delivery.workflow import RetryWorkflow
from formrelay.domain.clock import Clock
from formrelay.domain.destinations import Destination


class InMemoryDestinationDirectory(DestinationDirectory):
    """Destinations in a dict keyed by tenant, form and destination."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], Destination] = {}
        self._lock = threading.Lock()

    def for_form(self, tenant_id: str, form_id: str) -> tuple[Destination, ...]:
        """A form's destinations (what the Views table keeps beside the form), by id."""
        with self._lock:
            found = [d for (t, f, _), d in self._items.items() if (t, f) == (tenant_id, form_id)]
            found = copy.deepcopy(found)
        return tuple(sorted(found, key=lambda d: d.destination_id))

    def _read(self, tenant_id: str, form_id: str, destination_id: str) -> Destination | None:
        with self._lock:
            return copy.deepcopy(self._items.get((tenant_id, form_id, destination_id)))

    def _write(self, destination: Destination) -> None:
        # Copies, as a database would: a caller changing its headers later changes nothing here.
        stored = copy.deepcopy(destination)
        with self._lock:
            self._items[(stored.tenant_id, stored.form_id, stored.destination_id)] = stored

    def _remove(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        with self._lock:
            return self._items.pop((tenant_id, form_id, destination_id), None) is not None

    def _mark_disabled(
        self, tenant_id: str, form_id: str, destination_id: str, reason: str
    ) -> bool:
        key = (tenant_id, form_id, destination_id)
        with self._lock:
            current = self._items.get(key)
            if current is None:
                return False
            self._items[key] = dataclasses.replace(current, enabled=False, disabled_reason=reason)
            return True

    def _mark_enabled(self, tenant_id: str, form_id: str, destination_id: str) -> bool:
        key = (tenant_id, form_id, destination_id)
        with self._lock:
            current = self._items.get(key)
            if current is None:
                return False
            self._items[key] = dataclasses.replace(current, enabled=True, disabled_reason=None)
            return True


class InMemoryDeliveryLeases(DeliveryLeases):
    """Leases in a dict: delivery -> (token, expires_at)."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._held: dict[tuple[str, str], tuple[str, int]] = {}
        self._lock = threading.Lock()

    def _put_if_free(
        self, tenant_id: str, delivery_id: str, token: str, *, expires_at: int, now: int
    ) -> bool:
        key = (tenant_id, delivery_id)
        with self._lock:
            held = self._held.get(key)
            if held is not None and not held[1] < now:
                return False
            self._held[key] = (token, expires_at)
            return True

    def _delete_if_holder(self, tenant_id: str, delivery_id: str, token: str) -> None:
        key = (tenant_id, delivery_id)
        with self._lock:
            if self._held.get(key, ("", 0))[0] == token:
                del self._held[key]


class InMemoryDeliveryQueue(DeliveryQueue):
    """Jobs in a list, in the order sent; `take` empties it, as a consumer would."""

    def __init__(self) -> None:
        self._jobs: list[DeliveryJob] = []
        self._lock = threading.Lock()

    def take(self) -> list[DeliveryJob]:
        """Every job waiting, removed from the queue."""
        with self._lock:
            jobs, self._jobs = self._jobs, []
        return jobs

    def _enqueue(self, jobs: Sequence[DeliveryJob]) -> None:
        # Jobs travel as their JSON, as they do on SQS.
        with self._lock:
            self._jobs.extend(DeliveryJob.from_json(job.to_json()) for job in jobs)


@dataclass(frozen=True)
class RetryExecution:
    """One started retry execution: its name and its input state."""

    name: str
    state: dict[str, Any]


class InMemoryRetryWorkflow(RetryWorkflow):
    """Records executions instead of running them: a test steps through them itself
    (wait until `next_attempt_at`, then `Connector.retry_attempt`), as the state machine would."""

    def __init__(self) -> None:
        self.executions: list[RetryExecution] = []
        self._lock = threading.Lock()

    def _start_once(self, name: str, state: dict[str, Any]) -> None:
        with self._lock:
            if any(e.name == name for e in self.executions):
                return
            self.executions.append(RetryExecution(name, copy.deepcopy(state)))
