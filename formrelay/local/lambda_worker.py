"""One function container as a process of its own, running a handler from a build.

`formrelay dev --build-dir` starts it as `python -I -S -B -u lambda_worker.py ...`:
no site-packages and no path from the environment, so sys.path holds the standard
library and only what the arguments name (the function's code, its layers, the
runtime's own packages). It imports the handler, says where its modules came from,
then answers invocations one at a time over two pipes, one JSON line each way.
Standard library only: nothing of the source tree may be imported here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import IO, Any

# Module origins the worker reports once started (the test that runs a build reads them).
REPORTED = ("formrelay", "aws_lambda_powertools", "httpx", "boto3")


class Context:
    """The Lambda context object, as handlers and Powertools read it."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name: str = request["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn: str = request["function_arn"]
        self.memory_limit_in_mb: int = request["memory_limit_in_mb"]
        self.aws_request_id: str = request["request_id"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name: str = request["log_stream_name"]
        self._deadline = time.monotonic() + request["remaining_ms"] / 1000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's description of an error: errorType is what Retry/Catch match on."""
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _load(dotted: str) -> tuple[Callable[[Any, Any], Any], str]:
    """The handler and its module's file; a failure raises with Lambda's error type."""
    module_name, _, attribute = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise WorkerInitError(_error(exc, "Runtime.ImportModuleError")) from exc
    except SyntaxError as exc:
        raise WorkerInitError(_error(exc, "Runtime.UserCodeSyntaxError")) from exc
    except Exception as exc:  # module-level code raised: Lambda reports it as the init error
        raise WorkerInitError(_error(exc)) from exc
    handler = getattr(module, attribute, None)
    if not callable(handler):
        missing = AttributeError(f"handler '{attribute}' missing on module '{module_name}'")
        raise WorkerInitError(_error(missing, "Runtime.HandlerNotFound"))
    return handler, str(getattr(module, "__file__", ""))


class WorkerInitError(Exception):
    """The handler could not be imported: the container never becomes ready."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def _origins() -> dict[str, str]:
    """Where the reported top-level modules were imported from (those imported)."""
    return {
        name: str(getattr(sys.modules[name], "__file__", ""))
        for name in REPORTED
        if name in sys.modules
    }


def _send(answers: IO[str], message: dict[str, Any]) -> None:
    answers.write(json.dumps(message) + "\n")
    answers.flush()


def _answer(handler: Callable[[Any, Any], Any], request: dict[str, Any]) -> dict[str, Any]:
    """Run one invocation; its result, or the error Lambda would report."""
    try:
        result = handler(request["event"], Context(request))
    except Exception as exc:  # as Lambda's runtime does: logged, and the error is the answer
        traceback.print_exc()
        return {"error": _error(exc)}
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return {"error": _error(exc, "Runtime.MarshalError")}
    return {"result": result}


def main(argv: Sequence[str] | None = None) -> int:
    """Import the handler, report, then serve invocations until the requests pipe closes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--path", action="append", default=[], help="a sys.path entry")
    parser.add_argument("--requests", type=int, required=True, help="fd to read requests on")
    parser.add_argument("--answers", type=int, required=True, help="fd to write answers on")
    args = parser.parse_args(argv)
    sys.path[:0] = args.path
    with (
        os.fdopen(args.requests, "r", encoding="utf-8") as requests,
        os.fdopen(args.answers, "w", encoding="utf-8") as answers,
    ):
        try:
            handler, module_file = _load(args.handler)
        except WorkerInitError as exc:
            traceback.print_exc()
            _send(answers, {"init_error": exc.error})
            return 1
        _send(answers, {"ready": {"handler_module": module_file, "modules": _origins()}})
        for line in requests:
            _send(answers, _answer(handler, json.loads(line)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
