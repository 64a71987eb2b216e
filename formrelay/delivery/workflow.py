"""The retry workflow port: wait for a delivery's next attempt after a retryable failure.

The happy path never starts one: Standard transitions cost money. Execution
names are derived from the delivery, round and attempt, so starting the same
retry twice (a redelivered queue message) is the same execution, not a second
one. Back ends: `delivery/stepfunctions.py` (the state machine in
infra/statemachines/delivery_retry.asl.json) and `delivery/memory.py` (the
fake, which tests step by hand); both pass
tests/integration/test_retry_workflow_contract.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


def execution_name(delivery_id: str, round_: int, attempt: int) -> str:
    """The one execution for a delivery's round and in-round attempt."""
    return f"{delivery_id}-r{round_}-a{attempt}"


class RetryWorkflow(ABC):
    """Starts retry executions, at most one per name."""

    def start(self, state: dict[str, Any], *, delivery_id: str, round_: int, attempt: int) -> None:
        """Start waiting for the next attempt (idempotent per delivery, round and attempt)."""
        self._start_once(execution_name(delivery_id, round_, attempt), state)

    @abstractmethod
    def _start_once(self, name: str, state: dict[str, Any]) -> None:
        """Start an execution with this name and input; nothing if one by that name exists."""
