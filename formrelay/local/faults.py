"""Injected function failures for the local stack: `formrelay dev --fault FUNCTION:MODE`.

A fault belongs to one of the template's functions (its logical id) and is applied
by that function's runtime (FunctionRuntime.invoke), so every event source that
invokes the function sees it alike: the HTTP front, the stream and SQS pollers,
Step Functions' lambda:invoke and the schedule.

Modes:
- `first=N`: the first N invocations raise InjectedFault, the rest run normally.
- `rate=P`: each invocation raises InjectedFault with probability P (0 < P <= 1),
  drawn from a generator seeded by the stack's fault seed and the function's id,
  so a run with the same seed makes the same decisions in the same order.
- `timeout`: every invocation runs past the function's Timeout, and its caller
  gets Lambda's "Task timed out after N seconds" (FunctionTimeoutError). The
  handler runs to completion first: of what a timed-out Lambda may have done
  (nothing, part, all of its work), all of it with the answer lost is the case
  that retries must survive without doing anything twice. The wait past the
  timeout is the template's Timeout times the stack's time scale, so a stack
  with compressed time does not sit through 30 s per invocation; the message
  gives the template's figure, the time the scaled stack stands for.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from formrelay.domain.errors import FormrelayError

Mode = Literal["first", "rate", "timeout"]
MODES: tuple[Mode, ...] = ("first", "rate", "timeout")


class FaultSpecError(FormrelayError, ValueError):
    """A --fault that is not FUNCTION:first=N, FUNCTION:rate=P or FUNCTION:timeout."""


class UnknownFaultFunctionError(FormrelayError, ValueError):
    """A --fault names a function the template does not have, or one function twice."""


class InjectedFault(FormrelayError):
    """An invocation failed because the stack was told to fail it (--fault)."""


class FunctionTimeoutError(FormrelayError):
    """An invocation ran past its function's Timeout: Lambda reports it as failed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Task timed out after {seconds:.2f} seconds")
        self.seconds = seconds


@dataclass(frozen=True)
class FaultSpec:
    """One --fault: which function fails, and how (count for first, probability for rate)."""

    function: str
    mode: Mode
    count: int = 0
    probability: float = 0.0

    def __str__(self) -> str:
        if self.mode == "first":
            return f"{self.function}:first={self.count}"
        if self.mode == "rate":
            return f"{self.function}:rate={self.probability:g}"
        return f"{self.function}:timeout"


def parse_fault(text: str) -> FaultSpec:
    """'DispatcherFunction:first=3' -> FaultSpec; FaultSpecError says what is wrong."""
    function, colon, mode = text.strip().partition(":")
    if not colon or not function or not mode:
        raise FaultSpecError(f"fault {text!r}: expected FUNCTION:MODE, e.g. IngestFunction:first=1")
    if not function.isidentifier():
        raise FaultSpecError(f"fault {text!r}: {function!r} is not a template logical id")
    name, equals, value = mode.partition("=")
    if name == "timeout" and not equals:
        return FaultSpec(function, "timeout")
    if name == "first" and equals:
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise FaultSpecError(f"fault {text!r}: first=N needs N a whole number >= 1")
        return FaultSpec(function, "first", count=int(value))
    if name == "rate" and equals:
        try:
            probability = float(value)
        except ValueError:
            probability = float("nan")
        if not 0 < probability <= 1:  # also refuses nan
            raise FaultSpecError(f"fault {text!r}: rate=P needs 0 < P <= 1")
        return FaultSpec(function, "rate", probability=probability)
    raise FaultSpecError(f"fault {text!r}: mode must be first=N, rate=P or timeout, got {mode!r}")


def check_functions(specs: Iterable[FaultSpec], functions: Iterable[str]) -> None:
    """Refuse faults on functions the template does not have, or two on one function."""
    known = set(functions)
    seen: set[str] = set()
    for spec in specs:
        if spec.function not in known:
            raise UnknownFaultFunctionError(
                f"fault {spec}: the template has no function {spec.function!r} "
                f"(its functions: {', '.join(sorted(known))})"
            )
        if spec.function in seen:
            raise UnknownFaultFunctionError(f"fault {spec}: one fault per function")
        seen.add(spec.function)


class Fault:
    """One function's fault: decides, invocation by invocation, whether this one fails."""

    def __init__(self, spec: FaultSpec, seed: int = 0, time_scale: float = 1.0) -> None:
        self.spec = spec
        self.time_scale = time_scale
        self.invocations = 0
        self.injected = 0
        self._random = random.Random(f"{seed}:{spec.function}")
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Fault({self.spec}, {self.injected} of {self.invocations} invocations failed)"

    def fails(self) -> bool:
        """Whether the next invocation fails (counts it)."""
        with self._lock:
            self.invocations += 1
            if self.spec.mode == "first":
                failing = self.invocations <= self.spec.count
            elif self.spec.mode == "rate":
                failing = self._random.random() < self.spec.probability
            else:
                failing = True
            self.injected += failing
            return failing

    def apply(self, timeout: float, call: Callable[[], Any]) -> Any:
        """Run one invocation (call) under this fault; timeout is the function's, in seconds."""
        if not self.fails():
            return call()
        if self.spec.mode != "timeout":
            raise InjectedFault(
                f"injected fault {self.spec} (invocation {self.invocations}): "
                "formrelay dev --fault made this invocation fail"
            )
        started = time.monotonic()
        call()  # a handler that raises first fails with its own error, as on Lambda
        time.sleep(max(0.0, timeout * self.time_scale - (time.monotonic() - started)))
        raise FunctionTimeoutError(timeout)


def faults_by_function(
    specs: Iterable[FaultSpec], seed: int = 0, time_scale: float = 1.0
) -> dict[str, Fault]:
    """Logical id -> its Fault."""
    return {spec.function: Fault(spec, seed, time_scale) for spec in specs}
