"""Wait and Retry timing in moto's ASL interpreter, fixed for the local runtime.

Observed in moto 5.2.5 (see tests/integration/test_local_workflow.py):
- a Wait on a Timestamp(Path) drops the fractional seconds, truncates the delay
  to whole seconds and compares a UTC time with the *local* wall clock, so it
  wakes up to a second early (or hours off outside UTC). Here it waits until the
  exact instant, in UTC; a time in the past still proceeds at once;
- Wait states re-enter their wait forever when asked to wait a fraction of a
  second; here they wait on a deadline, in slices, so a stopped execution ends;
- Retry intervals are a plain `time.sleep`; here they are scaled by the local
  time scale (as every wait in the Python code is) and end when the stack stops.
"""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from formrelay.local.emulator import ACCOUNT_ID, REGION

# Longest uninterrupted sleep, so a stop that slips between checks is seen soon.
WAIT_SLICE_SECONDS = 1.0
# Shortest pause between Task retries, whatever the time scale.
RETRY_FLOOR_SECONDS = 1.0


class RetryClock:
    """Stands in for the `time` module in moto's retrier: scaled, interruptible sleeps."""

    def __init__(self) -> None:
        self.scale = 1.0
        self.stopping = threading.Event()

    def sleep(self, seconds: float) -> None:
        """Sleep a Retry interval times the time scale, or until the stack stops.

        Never less than a second (or the interval, if shorter): a task retried
        at once hits the same contention that failed it.
        """
        floor = min(seconds, RETRY_FLOOR_SECONDS)
        self.stopping.wait(max(floor, seconds * self.scale))


retry_clock = RetryClock()


def timestamp_wait_seconds(self: Timestamp, env: Environment) -> float:
    """Seconds until the Timestamp(Path) instant, fractions included; <= 0 when past."""
    self.string.eval(env=env)
    text: str = env.stack.pop()
    if self._from_timestamp_string(timestamp=text) is None:  # moto's own format check
        raise FailureEventException(self._create_failure_event(env, text))
    due = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (due - datetime.datetime.now(datetime.UTC)).total_seconds()


def wait_until_deadline(self: WaitFunction, env: Environment, wait_seconds: float) -> None:
    """Wait wait_seconds (fractions allowed) unless the execution stops first."""
    deadline = time.monotonic() + wait_seconds
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(min(remaining, WAIT_SLICE_SECONDS))


_installed = False
_install_lock = threading.Lock()


def install(time_scale: float) -> None:
    """Apply the timing fixes (once per process) and set the Retry time scale."""
    global _installed
    with _install_lock:
        if not _installed:
            Timestamp._get_wait_seconds = timestamp_wait_seconds  # type: ignore[method-assign,assignment]
            WaitFunction._wait_interval = wait_until_deadline  # type: ignore[method-assign]
            retrier_decl.time = retry_clock  # type: ignore[assignment]
            _installed = True
        retry_clock.scale = time_scale
        retry_clock.stopping.clear()


def reset() -> None:
    """Back to moto's Retry timing (unscaled) for whoever uses moto next in this process."""
    retry_clock.scale = 1.0
    retry_clock.stopping.clear()


def running_executions() -> list[Execution]:
    """Executions of the local account and region that are still running."""
    backend: Any = stepfunctions_parser_backends[ACCOUNT_ID][REGION]
    return [
        execution
        for machine in backend.state_machines
        for execution in machine.executions
        if isinstance(execution, Execution) and execution.exec_status == "RUNNING"
    ]


def stop_executions(cause: str) -> int:
    """Stop every running execution (Wait and Retry sleeps end); return how many."""
    retry_clock.stopping.set()
    stopped = 0
    for execution in running_executions():
        worker = execution.exec_worker
        if worker is not None and worker.env is not None:
            now = datetime.datetime.now(datetime.UTC)
            execution.stop(stop_date=now, error="formrelay.LocalStackStopped", cause=cause)
            stopped += 1
    return stopped
