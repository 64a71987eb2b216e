"""`formrelay dev`: emulated AWS + the template's functions, front and pollers in one process."""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlsplit

import boto3

from formrelay.composition import Services
from formrelay.domain.clock import Clock
from formrelay.local import (
    asl_timing,
    dynamodb_atomicity,
    dynamodb_partitions,
    secretsmanager_atomicity,
    sqs_attributes,
)
from formrelay.local.builds import BUILT_TEMPLATE, read_build
from formrelay.local.emulator import Emulator
from formrelay.local.faults import Fault, FaultSpec, check_functions, faults_by_function
from formrelay.local.front import Front
from formrelay.local.functions import (
    FunctionRuntime,
    FunctionSpec,
    read_functions,
    register_functions,
    shared_environment,
)
from formrelay.local.in_process_aws import InProcessAws
from formrelay.local.intrinsics import ResourceMap
from formrelay.local.lambda_invoke import serve_functions, stop_serving
from formrelay.local.pollers import Poller, SchedulePoller, SqsPoller, StreamPoller
from formrelay.local.processes import BuiltFunctionRuntime
from formrelay.local.provision import provision
from formrelay.local.routes import read_routes
from formrelay.local.runtime_provided import link_runtime_modules
from formrelay.local.sink import Sink
from formrelay.local.state_machines import provision_state_machines
from formrelay.local.stream_reads import InProcessStreamReads
from formrelay.local.template import DEFAULT_TEMPLATE, load_template, resources_of_type
from formrelay.settings import (
    DEFAULT_DESTINATION_SECRET_PREFIX,
    DEFAULT_TENANT_SECRET_PREFIX,
    SECRET_CACHE_VARIABLE,
    Settings,
    parse_secret_cache_seconds,
)
from formrelay.telemetry.tracing import TRACE_DISABLED_VARIABLE

logger = logging.getLogger(__name__)

READY_LINE = "formrelay dev ready"
TIME_SCALE_VARIABLE = "FORMRELAY_TIME_SCALE"
ALLOWED_DESTINATIONS_VARIABLE = "DELIVERY_ALLOWED_DESTINATIONS"


def parse_time_scale(value: str | float) -> float:
    """A time scale: a finite number > 0 (0.01 makes every wait 100 times shorter)."""
    scale = float(value)
    if not 0 < scale < float("inf"):
        raise ValueError(f"time scale must be a positive number, got {value!r}")
    return scale


def host_port(url: str) -> str:
    """'http://127.0.0.1:5000/x' -> '127.0.0.1:5000' (the DELIVERY_ALLOWED_DESTINATIONS form)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


class LocalStack:
    """Emulated AWS provisioned from the template, the HTTP front and the pollers."""

    def __init__(
        self,
        template: Path = DEFAULT_TEMPLATE,
        port: int = 0,
        host: str = "127.0.0.1",
        stack_name: str = "formrelay",
        time_scale: float | None = None,
        allow_destinations: Sequence[str] = (),
        secret_cache_seconds: int | None = None,
        clock: Clock | None = None,
        build_dir: Path | None = None,
        faults: Sequence[FaultSpec] = (),
        fault_seed: int = 0,
    ) -> None:
        """time_scale None: $FORMRELAY_TIME_SCALE if set, else the template's value.

        Each override replaces the template's value in the environment of every
        function that declares the variable, and is given to no other function.
        allow_destinations: HOST:PORT entries for $DELIVERY_ALLOWED_DESTINATIONS
        (empty: the template's value).
        secret_cache_seconds: $SECRET_CACHE_SECONDS for the functions (None: the
        template's value); 0 turns the secret caches off, 1 lets tests watch a rotation.
        clock: the functions' clock (deliveries, leases, secret caches; default the system's).
        build_dir: a host-platform `sam build` (`make build-host`): its built template
        instead of `template`, and each function runs from the build's code and layers,
        each container a process of its own (formrelay.local.processes), instead of
        importing the handlers from the source tree. clock does not reach those.
        faults: injected failures, at most one per function (formrelay.local.faults);
        start() refuses one whose function the template does not have.
        fault_seed: seeds the rate=P faults, so a run's decisions can be replayed.
        """
        self.build_dir = build_dir
        if build_dir is not None:
            template = build_dir / BUILT_TEMPLATE
        self.template_path = template
        self.time_scale = None if time_scale is None else parse_time_scale(time_scale)
        self.secret_cache_seconds = (
            None
            if secret_cache_seconds is None
            else parse_secret_cache_seconds(str(secret_cache_seconds))
        )
        self.allow_destinations = list(allow_destinations)
        self.fault_specs = list(faults)
        self.fault_seed = fault_seed
        self.faults: dict[str, Fault] = {}
        self.host = host
        self.port = port
        self.stack_name = stack_name
        self.endpoint = ""
        self.aws_endpoint = ""
        self.resources: ResourceMap = {}
        self.functions: dict[str, FunctionSpec] = {}
        self.clock = clock
        self._runtimes: dict[str, FunctionRuntime] = {}
        self._emulator = Emulator(host=host)
        self._in_process = InProcessAws()
        self._front: Front | None = None
        self._pollers: list[Poller] = []
        self._saved_env: dict[str, str | None] = {}
        self._runtime_dir: Path | None = None

    def start(self) -> LocalStack:
        """Start moto, provision, give each function its environment, then serve and poll."""
        template = load_template(self.template_path)
        check_functions(self.fault_specs, resources_of_type(template, "AWS::Serverless::Function"))
        self._save_env()
        dynamodb_atomicity.install()  # before any write: moto's own are not atomic
        dynamodb_partitions.install()  # a query would read the whole table
        secretsmanager_atomicity.install()  # its label moves neither: no CAS without it
        sqs_attributes.install()  # a send or receive would walk the whole queue
        self.aws_endpoint = self._emulator.start()  # also enables the ASL interpreter
        if self.build_dir is None:
            # The functions run here: they, the pollers and provisioning reach moto's
            # backends in-process; outside tools keep self.aws_endpoint.
            self._in_process.start()
        self.resources = provision(template, self.stack_name)
        register_functions(template, self.resources, self.stack_name)
        provision_state_machines(
            template, self.resources, self.stack_name, self.template_path.parent
        )
        declared = read_functions(template, self.resources, self.stack_name)
        scale = self._time_scale(declared.values())
        self.functions = {
            logical_id: spec.with_environment(self._overridden(spec.environment, scale))
            for logical_id, spec in declared.items()
        }
        # Each function's environment lives in its containers (formrelay.composition); the
        # process gets only what every function has alike, for code that reads os.environ.
        shared = shared_environment(self.functions.values())
        os.environ.update(shared)
        # No X-Ray daemon here: the functions trace nothing (formrelay.telemetry.tracing).
        os.environ[TRACE_DISABLED_VARIABLE] = "true"
        _warn_unshared_powertools(self.functions.values(), shared)
        asl_timing.install(scale)
        self._runtimes = self._function_runtimes()
        self.faults = faults_by_function(self.fault_specs, self.fault_seed, scale)
        for logical_id, fault in self.faults.items():
            logger.warning("%s: injecting fault %s", self.functions[logical_id].name, fault.spec)
            self._runtimes[logical_id].inject(fault)
        serve_functions(self._runtimes.values())  # Lambda Invoke at the emulator, in-process
        # moto builds a service's request router on its first request, with ast.parse,
        # which CPython 3.11 does not make thread-safe: retry executions that start
        # together would build the Lambda router at once (SystemError). Build it now (the
        # server's: the in-process mock routes without it).
        boto3.client("lambda", endpoint_url=self.aws_endpoint).list_functions()
        routes = read_routes(template, self.resources, self.functions)
        self._front = Front(routes, self.host, self.port, runtimes=self._runtimes)
        self._front.start()
        self.endpoint = self._front.url
        for logical_id, spec in self.functions.items():
            runtime = self._runtimes[logical_id]
            for event in spec.events:
                if event.type == "DynamoDB":
                    streams = InProcessStreamReads() if self._in_process.active else None
                    self._pollers.append(StreamPoller(runtime, event.properties, streams))
                elif event.type == "SQS":
                    self._pollers.append(SqsPoller(runtime, event.properties))
                elif event.type == "Schedule":
                    self._pollers.append(SchedulePoller(runtime, event.properties, scale))
                elif event.type != "HttpApi":
                    logger.warning("%s: event type %s is not run locally", spec.name, event.type)
        for poller in self._pollers:
            poller.start()
        return self

    def _function_runtimes(self) -> dict[str, FunctionRuntime]:
        """Each function's runtime: in-process from the source tree, or from the build."""
        if self.build_dir is None:
            return {
                logical_id: FunctionRuntime(spec, clock=self.clock)
                for logical_id, spec in self.functions.items()
            }
        built = read_build(self.build_dir)
        self._runtime_dir = link_runtime_modules(
            Path(tempfile.mkdtemp(prefix="formrelay-runtime-")) / "runtime"
        )
        return {
            logical_id: BuiltFunctionRuntime(spec, built[logical_id], self._runtime_dir)
            for logical_id, spec in self.functions.items()
        }

    def runtime(self, logical_id: str) -> FunctionRuntime:
        """The runtime (and so the containers) of one of the template's functions."""
        return self._runtimes[logical_id]

    def operator_services(self) -> Services:
        """Services for an operator's tools on this stack (the demo seed, tests).

        An operator acts for every function, so these name every table, the queue,
        the state machine and both secret prefixes, as the template's resources
        and functions do; they share nothing with any function's container.
        """
        return Services(
            Settings(
                events_table=self._physical("EventsTable"),
                views_table=self._physical("ViewsTable"),
                delivery_queue_url=self._physical("DeliveryQueue"),
                retry_state_machine_arn=self._physical("DeliveryRetryStateMachine"),
                tenant_secret_prefix=self._declared(
                    "TENANT_SECRET_PREFIX", DEFAULT_TENANT_SECRET_PREFIX
                ),
                destination_secret_prefix=self._declared(
                    "DESTINATION_SECRET_PREFIX", DEFAULT_DESTINATION_SECRET_PREFIX
                ),
            )
        )

    def _physical(self, logical_id: str) -> str | None:
        """A resource's physical name (Ref), None if the template has no such resource."""
        ref = self.resources.get(logical_id, {}).get("Ref")
        return None if ref is None else str(ref)

    def _declared(self, variable: str, default: str) -> str:
        """The value the functions that declare a variable give it."""
        for spec in self.functions.values():
            if variable in spec.environment:
                return spec.environment[variable]
        return default

    def stop(self) -> None:
        """Stop pollers, front, executions and emulator; reset moto; restore the environment."""
        for poller in self._pollers:
            poller.stop()
        for poller in self._pollers:
            poller.join(timeout=10)
        self._pollers = []
        if self._front is not None:
            self._front.stop()
            self._front = None
        if self.aws_endpoint:  # nothing starts executions any more: end the running ones
            asl_timing.stop_executions("formrelay dev stopped")
        stop_serving()
        for runtime in self._runtimes.values():
            runtime.close()
        if self._runtime_dir is not None:
            shutil.rmtree(self._runtime_dir.parent, ignore_errors=True)
            self._runtime_dir = None
        if self.aws_endpoint:
            _post(f"{self.aws_endpoint}/moto-api/reset", {})
            self.aws_endpoint = ""
        self._in_process.stop()
        self._emulator.stop()
        asl_timing.reset()
        self._restore_env()

    def _time_scale(self, specs: Iterable[FunctionSpec]) -> float:
        """The stack's one time scale: given, else $FORMRELAY_TIME_SCALE, else the template's."""
        if self.time_scale is not None:
            return self.time_scale
        if os.environ.get(TIME_SCALE_VARIABLE):
            return parse_time_scale(os.environ[TIME_SCALE_VARIABLE])
        declared = (spec.environment.get(TIME_SCALE_VARIABLE) for spec in specs)
        return parse_time_scale(next((value for value in declared if value), "1"))

    def _overridden(
        self, environment: dict[str, str], scale: float | None = None
    ) -> dict[str, str]:
        """A function's environment with time scale, destinations and secret cache applied.

        Only variables the function declares are changed: an override adds none.
        """
        overridden = dict(environment)
        if TIME_SCALE_VARIABLE in overridden:
            overridden[TIME_SCALE_VARIABLE] = (
                f"{self._time_scale([]) if scale is None else scale:g}"
            )
        if self.allow_destinations and ALLOWED_DESTINATIONS_VARIABLE in overridden:
            overridden[ALLOWED_DESTINATIONS_VARIABLE] = ",".join(self.allow_destinations)
        if self.secret_cache_seconds is not None and SECRET_CACHE_VARIABLE in overridden:
            overridden[SECRET_CACHE_VARIABLE] = str(self.secret_cache_seconds)
        return overridden

    def _save_env(self) -> None:
        """Remember the environment so stop() can put it back."""
        self._saved_env = {key: os.environ.get(key) for key in os.environ}

    def _restore_env(self) -> None:
        """Put the environment back as it was before start()."""
        for key in list(os.environ):
            if key not in self._saved_env:
                del os.environ[key]
        for key, value in self._saved_env.items():
            if value is not None:
                os.environ[key] = value

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _warn_unshared_powertools(specs: Iterable[FunctionSpec], shared: dict[str, str]) -> None:
    """Powertools reads its settings from os.environ, which holds only shared variables."""
    declared = {name for spec in specs for name in spec.environment}
    for name in sorted(declared - set(shared)):
        if name.startswith("POWERTOOLS_"):
            logger.warning(
                "%s is not the same in every function: locally Powertools keeps its default", name
            )


def _post(url: str, document: dict[str, Any]) -> None:
    """POST a JSON document to a local URL."""
    request = urllib.request.Request(
        url, data=json.dumps(document).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def write_demo(stack: LocalStack, sink: Sink, state_dir: Path, submissions: bool = False) -> Path:
    """Seed the demo tenant and write <state_dir>/demo.json (mode 0600).

    Besides the demo credentials it names the tables and secret prefix, so
    `formrelay tenants|keys` can find the local stack without flags, the local
    ReconcilerFunction's environment, for `formrelay reconcile`, and a console link
    for the demo tenant (`console_url`: a key of its own, read, audit and submit, for
    the longest a link may last). With submissions, the demo's submissions too
    (`demo_submissions`: see submit_demo).
    """
    from formrelay.auth.console_links import MAX_TTL_SECONDS, create_console_link
    from formrelay.bootstrap import seed_demo

    operator = stack.operator_services()
    seeded = seed_demo(operator, sink.url)
    console = create_console_link(
        operator.keys,
        seeded["tenant_id"],
        stack.endpoint,
        now=time.time(),
        ttl_seconds=MAX_TTL_SECONDS,
    )
    document: dict[str, Any] = {
        "endpoint": stack.endpoint,
        "key_id": seeded["key_id"],
        "secret": seeded["secret"],
        "form_id": seeded["form_id"],
        "tenant_id": seeded["tenant_id"],
        "sink_url": sink.url,
        "aws_endpoint": stack.aws_endpoint,
        "webhook_secret": seeded["webhook_secret"],
        "views_table": stack.resources["ViewsTable"]["Ref"],
        "events_table": stack.resources["EventsTable"]["Ref"],
        "anchors_bucket": stack.resources["AnchorsBucket"]["Ref"],
        "event_bus": stack.resources["FormrelayBus"]["Ref"],
        "tenant_secret_prefix": operator.settings.tenant_secret_prefix,
        "console_url": console.url,
        "console_expires_at": console.as_dict()["expires_at"],
    }
    if submissions:
        document["demo_submissions"] = submit_demo(stack, seeded, sink.url)
    reconciler = stack.functions.get("ReconcilerFunction")
    if reconciler is not None:
        # What `formrelay reconcile` runs on: the local ReconcilerFunction's own variables.
        document["reconciler_environment"] = dict(reconciler.environment)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "demo.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    path.chmod(0o600)
    return path


def submit_demo(stack: LocalStack, seeded: dict[str, str], sink_url: str) -> list[dict[str, str]]:
    """One submission to each demo form (formrelay.bootstrap.DEMO_FORMS), sent to the API
    with the demo key as any client sends one; each one's id, form, destination and the
    state its delivery comes to (`shows`).

    Nothing waits for the deliveries: within seconds one is delivered, one retrying with
    its next attempt due, one dead-lettered and one failed, each by the pipeline itself
    (real HTTP to the demo receiver, whose /status/ paths fail).
    """
    from formrelay.bootstrap import DEMO_FORMS, seed_demo_forms
    from formrelay.client import Credentials, FormrelayClient

    seed_demo_forms(stack.operator_services(), seeded["tenant_id"], sink_url)
    client = FormrelayClient(Credentials(stack.endpoint, seeded["key_id"], seeded["secret"]))
    made = []
    try:
        for demo in DEMO_FORMS:
            answer = client.submit(demo.form_id, demo.payload)
            if answer.status_code != 202:
                raise RuntimeError(
                    f"the demo submission to {demo.form_id} was refused: {answer.text}"
                )
            made.append(
                {
                    "submission_id": str(answer.json()["submission_id"]),
                    "form_id": demo.form_id,
                    "destination_id": demo.destination_id,
                    "shows": demo.shows,
                }
            )
    finally:
        client.http.close()
    return made


def _banner(
    stack: LocalStack,
    demo_file: Path | None,
    console_url: str | None = None,
    submissions: Sequence[dict[str, str]] = (),
) -> None:
    """Tell the human where things are, then the ready line tests wait for."""
    lines = [f"formrelay API     {stack.endpoint}", f"emulated AWS      {stack.aws_endpoint}"]
    if demo_file is not None:
        lines.append(f"demo credentials  {demo_file}")
    if console_url is not None:
        lines.append(f"console           {console_url}")
    if submissions:
        shown = ", ".join(f"{s['form_id']} {s['shows'].replace('_', ' ')}" for s in submissions)
        lines.append(f"demo submissions  {shown} (in the console within seconds)")
    if stack.fault_specs:
        faults = ", ".join(str(spec) for spec in stack.fault_specs)
        lines.append(f"injected faults   {faults} (seed {stack.fault_seed})")
    lines.append(READY_LINE)
    print("\n".join(lines), file=sys.stderr, flush=True)


def run(
    port: int = 8787,
    demo: bool = False,
    state_dir: Path = Path(".formrelay"),
    template: Path = DEFAULT_TEMPLATE,
    time_scale: float | None = None,
    allow_destinations: Sequence[str] = (),
    secret_cache_seconds: int | None = None,
    build_dir: Path | None = None,
    faults: Sequence[FaultSpec] = (),
    fault_seed: int = 0,
    demo_submissions: bool = False,
) -> None:
    """Run the local stack until SIGINT/SIGTERM, then stop everything cleanly.

    time_scale: multiplies every wait (None: $FORMRELAY_TIME_SCALE, else 1).
    allow_destinations: HOST:PORT webhook destinations allowed although they resolve
    to private or loopback addresses; with demo, the sink's own is always added.
    secret_cache_seconds: how long functions cache secrets (None: the template's value).
    build_dir: run the functions from this host-platform build (LocalStack's build_dir).
    faults, fault_seed: injected function failures (LocalStack's).
    demo_submissions: with demo, one submission to each demo form (submit_demo).
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # `kill -USR1 <pid>` prints every thread's stack: how to see what a stuck stack waits on.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    sink: Sink | None = None
    allowed = list(allow_destinations)
    try:
        if demo:
            sink = Sink().start()
            allowed.append(host_port(sink.url))
        with LocalStack(
            template,
            port=port,
            time_scale=time_scale,
            allow_destinations=allowed,
            secret_cache_seconds=secret_cache_seconds,
            build_dir=build_dir,
            faults=faults,
            fault_seed=fault_seed,
        ) as stack:
            demo_file, demo_document = None, {}
            if sink is not None:
                demo_file = write_demo(stack, sink, state_dir, submissions=demo_submissions)
                demo_document = json.loads(demo_file.read_text(encoding="utf-8"))
            _banner(
                stack,
                demo_file,
                demo_document.get("console_url"),
                demo_document.get("demo_submissions", ()),
            )
            while not stopping.wait(0.5):
                pass
            print("formrelay dev stopping", file=sys.stderr, flush=True)
    finally:
        if sink is not None:
            sink.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
