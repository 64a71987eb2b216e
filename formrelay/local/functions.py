"""Read AWS::Serverless::Function resources and invoke their handlers in-process."""

from __future__ import annotations

import importlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from formrelay.local.emulator import ACCOUNT_ID, REGION
from formrelay.local.intrinsics import ResourceMap, resolve
from formrelay.local.provision import physical_name
from formrelay.local.template import resources_of_type

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


class EnvironmentConflictError(ValueError):
    """Two functions set the same environment variable to different values."""


@dataclass(frozen=True)
class EventSource:
    """One entry of a function's Events: its name, type and resolved properties."""

    name: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    """What the local runtime needs to know about one function."""

    logical_id: str
    name: str
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    events: list[EventSource] = field(default_factory=list)

    @property
    def arn(self) -> str:
        """The function's (local) ARN."""
        return function_arn(self.name)


def function_arn(name: str) -> str:
    """ARN of a function with this physical name."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


class LambdaContext:
    """The subset of the Lambda context object that handlers and Powertools use."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_size
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's configured timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def register_functions(template: dict[str, Any], resources: ResourceMap, stack: str) -> None:
    """Add functions and HTTP APIs to the resource map so Ref/GetAtt on them resolve."""
    for logical_id, res in resources_of_type(template, "AWS::Serverless::Function").items():
        name = _function_name(logical_id, res.get("Properties", {}), resources, stack)
        resources[logical_id] = {"Ref": name, "Arn": function_arn(name)}
    for logical_id in resources_of_type(template, "AWS::Serverless::HttpApi"):
        resources[logical_id] = {"Ref": f"local-{logical_id.lower()}"}


def _function_name(
    logical_id: str, props: dict[str, Any], resources: ResourceMap, stack: str
) -> str:
    """The function's FunctionName (intrinsics resolved) or its local physical name."""
    if "FunctionName" in props:
        return str(resolve(props["FunctionName"], resources))
    return physical_name(stack, logical_id)


def _environment(globals_fn: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """Globals' environment variables overlaid with the function's own."""
    merged = dict(globals_fn.get("Environment", {}).get("Variables", {}))
    merged.update(props.get("Environment", {}).get("Variables", {}))
    return merged


def read_functions(
    template: dict[str, Any], resources: ResourceMap, stack: str = "formrelay"
) -> dict[str, FunctionSpec]:
    """Return logical id -> FunctionSpec with Globals merged and intrinsics resolved."""
    globals_fn: dict[str, Any] = template.get("Globals", {}).get("Function", {})
    specs: dict[str, FunctionSpec] = {}
    for logical_id, res in resources_of_type(template, "AWS::Serverless::Function").items():
        props: dict[str, Any] = res.get("Properties", {})
        env = resolve(_environment(globals_fn, props), resources)
        events = [
            EventSource(name, ev["Type"], resolve(ev.get("Properties", {}), resources))
            for name, ev in props.get("Events", {}).items()
        ]
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=_function_name(logical_id, props, resources, stack),
            handler=props.get("Handler") or globals_fn["Handler"],
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            memory_size=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            environment={key: str(value) for key, value in env.items()},
            events=events,
        )
    return specs


def merged_environment(specs: dict[str, FunctionSpec]) -> dict[str, str]:
    """The union of all functions' environments; conflicting values are an error."""
    merged: dict[str, str] = {}
    for spec in specs.values():
        for key, value in spec.environment.items():
            if merged.setdefault(key, value) != value:
                raise EnvironmentConflictError(
                    f"{spec.logical_id} sets {key}={value!r}, another function {merged[key]!r}"
                )
    return merged


def load_handler(dotted: str) -> Handler:
    """Import 'package.module.function' dynamically and return the function."""
    module_name, _, attribute = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    handler: Handler = getattr(module, attribute)
    return handler


class FunctionRuntime:
    """Invokes one function's handler in-process with a Lambda-shaped context."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._handler: Handler | None = None

    def invoke(self, event: Any) -> Any:
        """Call the handler once; exceptions propagate to the caller (the event source)."""
        if self._handler is None:
            self._handler = load_handler(self.spec.handler)
        context = LambdaContext(self.spec)
        logger.debug("invoking %s (%s)", self.spec.name, context.aws_request_id)
        return self._handler(event, context)
