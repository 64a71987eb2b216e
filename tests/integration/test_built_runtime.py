"""Function containers as processes (formrelay dev --build-dir): what a handler sees,
and what Lambda reports when it fails, without the rest of the local stack."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from formrelay.local.builds import BuiltFunction
from formrelay.local.functions import FunctionSpec
from formrelay.local.processes import BuiltFunctionRuntime, FunctionError
from formrelay.local.runtime_provided import link_runtime_modules

PROBE = """
import os, sys, threading, time
import boto3  # the runtime's

started = threading.Event()

def echo(event, context):
    return {
        "event": event,
        "pid": os.getpid(),
        "greeting": os.environ.get("GREETING"),
        "parent_only": os.environ.get("ONLY_IN_THE_PARENT"),
        "function_name": context.function_name,
        "formrelay": "formrelay" in sys.modules,
    }

def slow(event, context):
    time.sleep(event["seconds"])
    return os.getpid()

def fails(event, context):
    raise LookupError("no such thing")

def imports_formrelay(event, context):
    import formrelay  # the build below has no library: it must not come from the source tree
    return formrelay.__file__
"""


@pytest.fixture
def build(tmp_path: Path) -> BuiltFunction:
    """Given a build whose code is one module, and no layer."""
    code = tmp_path / "ProbeFunction"
    (code / "probe").mkdir(parents=True)
    (code / "probe" / "__init__.py").write_text("")
    (code / "probe" / "handler.py").write_text(PROBE)
    (code / "broken.py").write_text("import not_in_the_build\n")
    return BuiltFunction("ProbeFunction", "probe.handler.echo", code, ())


def _runtime(build: BuiltFunction, tmp_path: Path, handler: str, timeout: int = 10) -> Any:
    spec = FunctionSpec(
        logical_id="ProbeFunction",
        name="formrelay-ProbeFunction",
        handler=handler,
        timeout=timeout,
        memory_size=128,
        environment={"GREETING": "hello"},
    )
    return BuiltFunctionRuntime(spec, build, link_runtime_modules(tmp_path / "runtime"))


def test_a_container_sees_its_functions_environment_only(
    build: BuiltFunction, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONLY_IN_THE_PARENT", "secret")
    runtime = _runtime(build, tmp_path, "probe.handler.echo")
    try:
        answer = runtime.invoke({"n": 1})
    finally:
        runtime.close()
    assert answer["event"] == {"n": 1}
    assert answer["greeting"] == "hello" and answer["parent_only"] is None
    assert answer["function_name"] == "formrelay-ProbeFunction"
    assert answer["pid"] != os.getpid() and answer["formrelay"] is False


def test_nothing_outside_the_build_can_be_imported(build: BuiltFunction, tmp_path: Path) -> None:
    runtime = _runtime(build, tmp_path, "probe.handler.imports_formrelay")
    with pytest.raises(FunctionError) as raised:
        runtime.invoke({})
    runtime.close()
    assert raised.value.error_type == "ModuleNotFoundError"


def test_errors_carry_lambdas_error_types(build: BuiltFunction, tmp_path: Path) -> None:
    for handler, error_type in (
        ("probe.handler.fails", "LookupError"),  # what Step Functions' Retry/Catch match
        ("broken.handler", "Runtime.ImportModuleError"),
        ("probe.handler.missing", "Runtime.HandlerNotFound"),
    ):
        runtime = _runtime(build, tmp_path, handler)
        with pytest.raises(FunctionError) as raised:
            runtime.invoke({})
        runtime.close()
        assert raised.value.error_type == error_type, handler


def test_a_container_that_runs_past_its_timeout_is_replaced(
    build: BuiltFunction, tmp_path: Path
) -> None:
    runtime = _runtime(build, tmp_path, "probe.handler.slow", timeout=1)
    try:
        with pytest.raises(FunctionError) as raised:
            runtime.invoke({"seconds": 5})
        assert raised.value.error_type == "Sandbox.Timedout"
        assert isinstance(runtime.invoke({"seconds": 0}), int)  # a new container answers
    finally:
        runtime.close()


def test_concurrent_invocations_get_containers_of_their_own(
    build: BuiltFunction, tmp_path: Path
) -> None:
    runtime = _runtime(build, tmp_path, "probe.handler.slow")
    pids: list[int] = []
    threads = [
        threading.Thread(target=lambda: pids.append(runtime.invoke({"seconds": 1})))
        for _ in range(2)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        runtime.close()
    assert len(pids) == 2 and pids[0] != pids[1]
