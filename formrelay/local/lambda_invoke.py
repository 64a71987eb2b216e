"""The Lambda Invoke API at the emulator's endpoint, answered by the in-process handlers.

moto's Step Functions interpreter runs a `lambda:invoke` task by calling
`lambda.invoke` on the moto server, and moto can only run functions in docker.
Rather than register our functions in moto, we wrap moto's Lambda backend
`invoke`: a name the local runtime knows is answered in-process, any other goes
to moto as before. Going through moto's own request handling keeps the wire
format (status, `X-Amz-Function-Error`, payload) exactly what boto3 expects, in
server mode and under `mock_aws` alike.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.awslambda_simple.models import LambdaSimpleBackend

from formrelay.local.faults import FunctionTimeoutError
from formrelay.local.functions import FunctionRuntime
from formrelay.local.processes import FunctionError

logger = logging.getLogger(__name__)

_LOCAL_RUNTIME_DIR = str(Path(__file__).resolve().parent)

BackendInvoke = Callable[..., str | bytes | None]

_lock = threading.Lock()
_runtimes: dict[str, FunctionRuntime] = {}
_originals: dict[type[LambdaBackend], BackendInvoke] = {}


def function_key(function_name: str) -> str:
    """The bare function name from a name, a (partial) ARN, with or without qualifier."""
    if ":function:" in function_name:
        function_name = function_name.split(":function:", 1)[1]
    return function_name.split(":", 1)[0]


def lambda_error(exc: BaseException) -> dict[str, Any]:
    """Lambda's body for an unhandled error: errorType is what Retry/Catch match on.

    The stack trace starts at the handler, as Lambda's does: the local runtime's
    own frames are left out. A container process describes its own errors.
    """
    if isinstance(exc, FunctionError):
        return exc.error
    if isinstance(exc, FunctionTimeoutError):  # Lambda's type for it; no handler frames
        return {"errorType": "Sandbox.Timedout", "errorMessage": str(exc)}
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith(_LOCAL_RUNTIME_DIR)
    ]
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_list(frames),
    }


def invoke_in_process(runtime: FunctionRuntime, body: Any) -> tuple[bytes, bool]:
    """Run the handler on a JSON request body; return (payload, is_unhandled_error)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        event = json.loads(body) if body else {}
    except ValueError as exc:
        error = {"errorType": "Runtime.UnmarshalError", "errorMessage": str(exc)}
        return json.dumps(error).encode(), True
    try:
        result = runtime.invoke(event)
    except Exception as exc:
        logger.warning("%s raised %s: %s", runtime.spec.name, type(exc).__name__, exc)
        return json.dumps(lambda_error(exc)).encode(), True
    try:
        return json.dumps(result).encode(), False
    except (TypeError, ValueError) as exc:
        error = {"errorType": "Runtime.MarshalError", "errorMessage": str(exc)}
        return json.dumps(error).encode(), True


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header, case-insensitively (moto passes werkzeug headers or a dict)."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def _invoke_local(runtime: FunctionRuntime, body: Any, headers: Any, out: Any) -> bytes:
    """Answer one Invoke for a local function, as Lambda would."""
    if _header(headers, "x-amz-invocation-type") == "Event":
        worker = threading.Thread(
            target=invoke_in_process, args=(runtime, body), name=f"invoke-{runtime.spec.name}"
        )
        worker.daemon = True
        worker.start()
        return b""
    payload, failed = invoke_in_process(runtime, body)
    if failed:
        out["x-amz-function-error"] = "Unhandled"
    out["Content-Length"] = str(len(payload))
    return payload


def _wrap(original: BackendInvoke) -> BackendInvoke:
    """moto's backend invoke, answering the local runtime's functions in-process."""

    def invoke(
        self: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> str | bytes | None:
        runtime = _runtimes.get(function_key(function_name))
        if runtime is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        return _invoke_local(runtime, body, headers, response_headers)

    return invoke


def serve_functions(runtimes: Iterable[FunctionRuntime]) -> None:
    """Answer Invoke for these functions in-process (handlers are imported on first use)."""
    with _lock:
        for backend in (LambdaBackend, LambdaSimpleBackend):
            if backend not in _originals:
                _originals[backend] = backend.__dict__["invoke"]
                backend.invoke = _wrap(_originals[backend])  # type: ignore[method-assign]
        _runtimes.clear()
        _runtimes.update({runtime.spec.name: runtime for runtime in runtimes})


def stop_serving() -> None:
    """Forget the local functions and give moto back its own invoke."""
    with _lock:
        _runtimes.clear()
        for backend, original in _originals.items():
            backend.invoke = original  # type: ignore[method-assign]
        _originals.clear()
