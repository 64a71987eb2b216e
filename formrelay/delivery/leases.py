"""The leases port: at most one attempt of a delivery in flight, whatever SQS or a retry does.

A lease is taken with an expiry, compared with the injected clock (never left
to TTL). A connector that dies holding one only delays the next attempt until
the lease runs out. The logic lives here (tokens, expiry arithmetic); back
ends implement two hooks. Back ends: `delivery/dynamodb.py` (a conditional put
in the Views table) and `delivery/memory.py` (the fake); both pass
tests/integration/test_delivery_leases_contract.py.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod

from formrelay.domain.clock import Clock, SystemClock
from formrelay.domain.errors import FormrelayError


class DeliveryBusyError(FormrelayError):
    """Another attempt of this delivery is in flight: try again later."""


class DeliveryLeases(ABC):
    """Takes and gives back delivery leases."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()

    def acquire(self, tenant_id: str, delivery_id: str, seconds: float) -> str:
        """Take the lease for `seconds` (whole seconds, rounded up); its token, or
        DeliveryBusyError while someone else's lease is unexpired."""
        token = secrets.token_hex(8)
        now = self.clock.unix()
        if not self._put_if_free(
            tenant_id, delivery_id, token, expires_at=int(now + seconds) + 1, now=int(now)
        ):
            raise DeliveryBusyError(f"delivery {delivery_id} is in flight")
        return token

    def release(self, tenant_id: str, delivery_id: str, token: str) -> None:
        """Give the lease back, only if it is still ours (an expired one may be another's now)."""
        self._delete_if_holder(tenant_id, delivery_id, token)

    @abstractmethod
    def _put_if_free(
        self, tenant_id: str, delivery_id: str, token: str, *, expires_at: int, now: int
    ) -> bool:
        """Store (token, expires_at) unless one with expires_at >= now is held; whether stored."""

    @abstractmethod
    def _delete_if_holder(self, tenant_id: str, delivery_id: str, token: str) -> None:
        """Remove the lease if it holds this token; otherwise nothing."""
