"""The local runtime tells listeners of every run of a function's handler (the cost bench
times invocations with it)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from formrelay.local.functions import FunctionRuntime, FunctionSpec


def pause(event: Any, context: Any) -> Any:
    """A handler that takes at least 20 ms."""
    time.sleep(0.02)
    return event


def fail(event: Any, context: Any) -> Any:
    """A handler that raises."""
    raise ValueError("no")


def _runtime(handler: str) -> FunctionRuntime:
    spec = FunctionSpec("PauseFunction", "pause", f"{__name__}.{handler}", 3, 256, {})
    return FunctionRuntime(spec, max_containers=1)


def test_a_listener_hears_each_run_with_its_function_and_wall_time() -> None:
    # Given a runtime with a listener
    runtime = _runtime("pause")
    heard: list[tuple[str, int, float]] = []
    runtime.listen(lambda spec, seconds: heard.append((spec.logical_id, spec.memory_size, seconds)))

    # When it runs twice
    runtime.invoke({"n": 1})
    runtime.invoke({"n": 2})

    # Then the listener heard two runs of that function, each as long as the handler took
    assert [(name, memory) for name, memory, _ in heard] == [("PauseFunction", 256)] * 2
    assert all(seconds >= 0.02 for _, _, seconds in heard)


def test_a_failed_run_is_heard_too_and_its_error_still_reaches_the_caller() -> None:
    runtime = _runtime("fail")
    heard: list[float] = []
    runtime.listen(lambda spec, seconds: heard.append(seconds))

    with pytest.raises(ValueError, match="no"):
        runtime.invoke({})
    assert len(heard) == 1
