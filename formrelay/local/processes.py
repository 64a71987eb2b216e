"""Function containers as processes: how `formrelay dev --build-dir` runs a build.

Each container is a `lambda_worker.py` process whose sys.path holds the function's
code and layers from a host-platform build, the Lambda runtime's own packages
(runtime_provided) and the standard library, nothing else: the handlers, and the
formrelay library and dependencies they import, are the build's. A container
gets the function's environment as its process environment, as on Lambda, plus
the emulated AWS's endpoint and credentials. The pool (one invocation per
container at a time, more containers under load) is FunctionRuntime's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from formrelay.composition import Services
from formrelay.domain.errors import FormrelayError
from formrelay.local.builds import BuiltFunction
from formrelay.local.functions import FunctionRuntime, FunctionSpec, LambdaContext, Slot
from formrelay.telemetry.tracing import TRACE_DISABLED_VARIABLE

logger = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("lambda_worker.py")
# How long a container may take to import its handler (Lambda allows 10 s of init).
INIT_TIMEOUT_SECONDS = 30.0


class FunctionError(FormrelayError):
    """The function failed: its handler raised, or its container did not start or answer."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['errorType']}: {error['errorMessage']}")
        self.error_type: str = error["errorType"]
        self.error = error


def container_environment(spec: FunctionSpec) -> dict[str, str]:
    """A container's process environment: the emulated AWS's, the function's, Lambda's own."""
    environment = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    environment.update(spec.environment)
    environment.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "_HANDLER": spec.handler,
            # No X-Ray daemon here: the functions trace nothing (formrelay.telemetry.tracing).
            TRACE_DISABLED_VARIABLE: "true",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PATH": os.environ.get("PATH", ""),
        }
    )
    return environment


class WorkerProcess:
    """One container: a worker process that imported the handler and answers invocations."""

    def __init__(self, spec: FunctionSpec, python_path: list[Path], number: int) -> None:
        self.spec = spec
        self.number = number
        self.usable = True
        requests_read, self._requests_write = os.pipe()
        self._answers_read, answers_write = os.pipe()
        command = [sys.executable, "-I", "-S", "-B", "-u", str(WORKER), "--handler", spec.handler]
        command += [arg for path in python_path for arg in ("--path", str(path))]
        command += ["--requests", str(requests_read), "--answers", str(answers_write)]
        self._process = subprocess.Popen(
            command,
            env=container_environment(spec),
            pass_fds=(requests_read, answers_write),
            stdin=subprocess.DEVNULL,
        )
        os.close(requests_read)
        os.close(answers_write)
        self._requests: IO[str] = os.fdopen(self._requests_write, "w", encoding="utf-8")
        self._answers: IO[str] = os.fdopen(self._answers_read, "r", encoding="utf-8")
        self.modules: dict[str, str] = {}
        self.handler_module = ""
        self._await_ready()

    def _await_ready(self) -> None:
        """Wait for the handler's import; raise FunctionError (Lambda's type) if it failed."""
        message = self._receive(INIT_TIMEOUT_SECONDS, "Runtime.InitTimeout")
        if "init_error" in message:
            self.close()
            raise FunctionError(message["init_error"])
        ready = message["ready"]
        self.handler_module = ready["handler_module"]
        self.modules = ready["modules"]
        logger.info(
            "%s container %d: %s from %s, formrelay from %s",
            self.spec.logical_id,
            self.number,
            self.spec.handler,
            self.handler_module,
            self.modules.get("formrelay", "(not imported)"),
        )

    def run(self, event: Any, context: LambdaContext) -> Any:
        """One invocation in this container: its result, or FunctionError."""
        request = {
            "event": event,
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        }
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
        except OSError as exc:
            self.close()
            raise FunctionError(
                {"errorType": "Runtime.ExitError", "errorMessage": f"container exited: {exc}"}
            ) from exc
        answer = self._receive(float(self.spec.timeout), "Sandbox.Timedout")
        if "error" in answer:
            raise FunctionError(answer["error"])
        return answer["result"]

    def _receive(self, timeout: float, timeout_type: str) -> dict[str, Any]:
        """The worker's next message; a silent or dead worker ends the container."""
        readable, _, _ = select.select([self._answers], [], [], timeout)
        line = self._answers.readline() if readable else None
        if not line:
            self.close(kill=line is None)  # a worker still busy past its time is ended
            if line is None:
                error = {"errorType": timeout_type, "errorMessage": f"no answer in {timeout:g} s"}
            else:
                error = {"errorType": "Runtime.ExitError", "errorMessage": "container exited"}
            raise FunctionError(error)
        message: dict[str, Any] = json.loads(line)
        return message

    def close(self, kill: bool = False) -> None:
        """End the worker: closing its requests pipe lets it exit; it is killed if it does not."""
        self.usable = False
        if kill:
            self._process.kill()
        for stream in (self._requests, self._answers):
            with contextlib.suppress(OSError):  # the worker already went: nothing to flush
                stream.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class BuiltFunctionRuntime(FunctionRuntime):
    """A function of a build, each container a worker process (FunctionRuntime's pool)."""

    def __init__(
        self,
        spec: FunctionSpec,
        built: BuiltFunction,
        runtime_dir: Path,
        max_containers: int = 16,
    ) -> None:
        super().__init__(spec, max_containers)
        self.built = built
        self.python_path = [*built.python_path(), runtime_dir]

    def _start_container(self, number: int) -> Slot:
        """A new worker process (its handler imported) for container `number`."""
        return WorkerProcess(self.spec, self.python_path, number)

    def configure(self, setup: Callable[[Services], None]) -> None:
        """Not for a build: its containers' services live in other processes."""
        raise TypeError(f"{self.spec.logical_id} runs from a build: configure its environment")
