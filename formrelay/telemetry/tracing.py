"""Traces: Powertools' Tracer (AWS X-Ray) around every function, built only when tracing is on.

Powertools' Tracer imports the X-Ray SDK as soon as one is constructed, even a disabled
one (it switches the SDK off), and patches boto3 and httpx: a cost on every cold start.
So no Tracer exists until an invocation finds tracing on (on Lambda, with the template's
`Tracing: Active`, and POWERTOOLS_TRACE_DISABLED unset): with tracing off, as in the local
stack and the tests, nothing of the SDK is imported (tests/unit/test_tracing.py).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])

TRACE_DISABLED_VARIABLE = "POWERTOOLS_TRACE_DISABLED"
_TRUTHY = frozenset({"1", "y", "yes", "t", "true", "on"})
_lock = threading.Lock()
_tracer: Tracer | None = None


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' own rule: on in Lambda (not SAM's or Chalice's emulation) unless
    POWERTOOLS_TRACE_DISABLED says otherwise."""
    if environ.get(TRACE_DISABLED_VARIABLE, "false").strip().lower() in _TRUTHY:
        return False
    in_lambda = bool(environ.get("LAMBDA_TASK_ROOT"))
    emulated = bool(environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE"))
    return in_lambda and not emulated


def tracer() -> Tracer | None:
    """The process's Tracer, made on first use; None while tracing is off."""
    global _tracer
    if not tracing_enabled():
        return None
    with _lock:
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            _tracer = Tracer()
        return _tracer


def traced(handler: Handler) -> Handler:
    """The Lambda handler in a segment of its own when tracing is on; itself when off.

    Responses are not captured: they carry tenants' data, which traces must not hold.
    """
    captured: Callable[..., Any] | None = None

    @functools.wraps(handler)
    def entry(event: Any, context: Any) -> Any:
        nonlocal captured
        active = tracer()
        if active is None:
            return handler(event, context)
        if captured is None:
            captured = active.capture_lambda_handler(handler, capture_response=False)
        return captured(event, context)

    return entry  # type: ignore[return-value]


def annotate(correlation_id: str) -> None:
    """Index the trace by the request's correlation id (nothing while tracing is off)."""
    active = tracer()
    if active is not None:
        active.put_annotation("correlation_id", correlation_id)
