"""Read AWS::Serverless::Function resources and invoke their handlers in-process."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from formrelay.composition import Container, Services
from formrelay.domain.clock import Clock
from formrelay.local.emulator import ACCOUNT_ID, REGION
from formrelay.local.faults import Fault, FunctionTimeoutError
from formrelay.local.intrinsics import ResourceMap, resolve
from formrelay.local.provision import physical_name
from formrelay.local.template import resources_of_type

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]
# Told of every run of a function's handler: the function and the run's wall time in
# seconds (the handler alone: a container's start, Lambda's init, is not in it).
InvocationListener = Callable[["FunctionSpec", float], None]


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

    def with_environment(self, environment: dict[str, str]) -> FunctionSpec:
        """The same function with another environment."""
        return replace(self, environment=dict(environment))


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


def shared_environment(specs: Iterable[FunctionSpec]) -> dict[str, str]:
    """The variables every function has, with the same value in each (Globals' own).

    Only these may go into the process's environment, where code that reads
    os.environ itself (Powertools' Logger, at import) finds them: no function
    sees there a variable it does not have, or another function's value.
    """
    environments = [spec.environment for spec in specs]
    if not environments:
        return {}
    first, *others = environments
    return {
        key: value
        for key, value in first.items()
        if all(other.get(key) == value for other in others)
    }


def load_handler(dotted: str) -> Handler:
    """Import 'package.module.function' dynamically and return the function."""
    module_name, _, attribute = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    handler: Handler = getattr(module, attribute)
    return handler


def load_handler_copy(dotted: str, container: int) -> Handler | None:
    """The handler from a fresh copy of its module (its own module-level state), or None
    if the module cannot be copied (it has no source file)."""
    module_name, _, attribute = dotted.rpartition(".")
    path = getattr(importlib.import_module(module_name), "__file__", None)
    if path is None:
        return None
    name = f"{module_name}_container{container}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    handler: Handler = getattr(module, attribute)
    return handler


class Slot(Protocol):
    """One container of a function: runs one invocation at a time."""

    usable: bool  # False once the container is gone: it serves no further invocation

    def run(self, event: Any, context: LambdaContext) -> Any:
        """Call the handler once in this container."""

    def close(self) -> None:
        """Let the container go."""


@dataclass
class _InProcessSlot:
    """One container in this process: its copy of the handler and its environment and services."""

    handler: Handler
    container: Container
    usable: bool = True

    def run(self, event: Any, context: LambdaContext) -> Any:
        """Call the handler with this container's environment and services."""
        with self.container.serving():
            return self.handler(event, context)

    def close(self) -> None:
        """Nothing to let go: the module copy lives as long as the process."""


class FunctionRuntime:
    """Invokes one function's handler in-process with a Lambda-shaped context.

    As on Lambda, a container serves one invocation at a time, and concurrent
    invocations get containers of their own: the first imports the handler's
    module, every further one runs a fresh copy of it, so module-level state (a
    Powertools resolver's current event, a batch processor's records) is never
    shared by two invocations at once. Each container also has its own
    environment (the function's, from the template) and its own services
    (`formrelay.composition.services()` inside it), so caches are per container
    as on AWS, and no function sees another's variables.

    The pool of containers is here; how a container starts is `_start_container`
    (formrelay.local.processes runs each in a process of its own instead).
    """

    def __init__(
        self,
        spec: FunctionSpec,
        max_containers: int = 16,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.spec = spec
        self.max_containers = max_containers
        self._clock = clock
        self._idle: list[Slot] = []
        self._started: list[Slot] = []
        self._containers = 0
        self._made: list[Container] = []
        self._setups: list[Callable[[Services], None]] = []
        self._free = threading.Condition()
        self._listeners: list[InvocationListener] = []
        self.fault: Fault | None = None

    def inject(self, fault: Fault | None) -> None:
        """Fail invocations as fault says from now on (None: no more injected failures)."""
        self.fault = fault

    def invoke(self, event: Any) -> Any:
        """Call the handler once; exceptions propagate to the caller (the event source).

        An invocation that returns after the function's Timeout has failed, as on
        Lambda (FunctionTimeoutError), whatever the handler returned. An injected
        fault (formrelay.local.faults) applies here, so every event source sees it.
        """
        slot = self._acquire()
        try:
            context = LambdaContext(self.spec)
            logger.debug("invoking %s (%s)", self.spec.name, context.aws_request_id)
            if self.fault is not None:
                return self.fault.apply(self.spec.timeout, lambda: self._run(slot, event, context))
            return self._run(slot, event, context)
        finally:
            with self._free:
                if slot.usable:
                    self._idle.append(slot)
                elif slot in self._started:  # its container is gone: another may start
                    self._containers -= 1
                    self._started.remove(slot)
                self._free.notify()

    def listen(self, listener: InvocationListener) -> None:
        """Tell listener of every run of the handler from now on, failed runs too (a bench
        times invocations with it: Lambda bills each run's duration)."""
        with self._free:
            self._listeners.append(listener)

    def _run(self, slot: Slot, event: Any, context: LambdaContext) -> Any:
        """One run of the handler in slot; FunctionTimeoutError if it outlived its Timeout."""
        started = time.monotonic()
        try:
            result = slot.run(event, context)
        finally:
            elapsed = time.monotonic() - started
            for listener in list(self._listeners):
                listener(self.spec, elapsed)
        if elapsed > self.spec.timeout:
            raise FunctionTimeoutError(self.spec.timeout)
        return result

    def containers(self) -> list[Container]:
        """The containers made so far, oldest first."""
        with self._free:
            return list(self._made)

    def configure(self, setup: Callable[[Services], None]) -> None:
        """Run setup on the services of every container, made so far or later."""
        with self._free:
            self._setups.append(setup)
            made = list(self._made)
        for container in made:
            setup(container.services)

    def close(self) -> None:
        """Let every container go (the local stack is stopping)."""
        with self._free:
            started, self._started, self._idle = self._started, [], []
        for slot in started:
            slot.close()

    def _acquire(self) -> Slot:
        """An idle container, a new one, or (at the limit) the next to become idle."""
        with self._free:
            while not self._idle and self._containers >= self.max_containers:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._containers += 1
            number = self._containers
        try:
            slot = self._start_container(number)
        except BaseException:
            with self._free:
                self._containers -= 1
                self._free.notify()
            raise
        if slot is None:  # not copyable: one container serves every invocation in turn
            with self._free:
                self.max_containers = 1
                self._containers -= 1
            return self._acquire()
        with self._free:
            self._started.append(slot)
        return slot

    def _start_container(self, number: int) -> Slot | None:
        """Container number `number` (1 first), or None if the handler cannot be copied."""
        container = Container(self.spec.environment, clock=self._clock)
        with container.serving():  # module-level code runs in the container too
            if number == 1:
                handler: Handler | None = load_handler(self.spec.handler)
            else:
                handler = load_handler_copy(self.spec.handler, number)
        if handler is None:
            return None
        with self._free:
            self._made.append(container)
            setups = list(self._setups)
        for setup in setups:
            setup(container.services)
        return _InProcessSlot(handler, container)
