"""`formrelay dev`: emulated AWS + the template's functions, front and pollers in one process."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import urllib.request
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from formrelay.local.emulator import Emulator
from formrelay.local.front import Front
from formrelay.local.functions import (
    FunctionRuntime,
    merged_environment,
    read_functions,
    register_functions,
)
from formrelay.local.intrinsics import ResourceMap
from formrelay.local.pollers import Poller, SqsPoller, StreamPoller
from formrelay.local.provision import provision
from formrelay.local.routes import read_routes
from formrelay.local.sink import Sink
from formrelay.local.template import DEFAULT_TEMPLATE, load_template

logger = logging.getLogger(__name__)

READY_LINE = "formrelay dev ready"


class LocalStack:
    """Emulated AWS provisioned from the template, the HTTP front and the pollers."""

    def __init__(
        self,
        template: Path = DEFAULT_TEMPLATE,
        port: int = 0,
        host: str = "127.0.0.1",
        stack_name: str = "formrelay",
    ) -> None:
        self.template_path = template
        self.host = host
        self.port = port
        self.stack_name = stack_name
        self.endpoint = ""
        self.aws_endpoint = ""
        self.resources: ResourceMap = {}
        self._emulator = Emulator(host=host)
        self._front: Front | None = None
        self._pollers: list[Poller] = []
        self._saved_env: dict[str, str | None] = {}

    def start(self) -> LocalStack:
        """Start moto, provision, set the functions' env, then serve and poll."""
        self._save_env()
        self.aws_endpoint = self._emulator.start()
        template = load_template(self.template_path)
        self.resources = provision(template, self.stack_name)
        register_functions(template, self.resources, self.stack_name)
        functions = read_functions(template, self.resources, self.stack_name)
        os.environ.update(merged_environment(functions))  # before any handler is imported
        self._front = Front(read_routes(template, self.resources, functions), self.host, self.port)
        self._front.start()
        self.endpoint = self._front.url
        for spec in functions.values():
            runtime = FunctionRuntime(spec)
            for event in spec.events:
                if event.type == "DynamoDB":
                    self._pollers.append(StreamPoller(runtime, event.properties))
                elif event.type == "SQS":
                    self._pollers.append(SqsPoller(runtime, event.properties))
                elif event.type != "HttpApi":
                    logger.warning("%s: event type %s is not run locally", spec.name, event.type)
        for poller in self._pollers:
            poller.start()
        return self

    def stop(self) -> None:
        """Stop pollers, front and emulator; reset moto; restore the environment."""
        for poller in self._pollers:
            poller.stop()
        for poller in self._pollers:
            poller.join(timeout=10)
        self._pollers = []
        if self._front is not None:
            self._front.stop()
            self._front = None
        if self.aws_endpoint:
            _post(f"{self.aws_endpoint}/moto-api/reset", {})
        self._emulator.stop()
        self._restore_env()

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


def _post(url: str, document: dict[str, Any]) -> None:
    """POST a JSON document to a local URL."""
    request = urllib.request.Request(
        url, data=json.dumps(document).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def write_demo(stack: LocalStack, sink: Sink, state_dir: Path) -> Path:
    """Seed the demo tenant and write <state_dir>/demo.json (mode 0600)."""
    from formrelay.bootstrap import seed_demo  # needs the env the stack has set

    seeded = seed_demo(sink.url)
    document = {
        "endpoint": stack.endpoint,
        "key_id": seeded["key_id"],
        "secret": seeded["secret"],
        "form_id": seeded["form_id"],
        "tenant_id": seeded["tenant_id"],
        "sink_url": sink.url,
        "aws_endpoint": stack.aws_endpoint,
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "demo.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    path.chmod(0o600)
    return path


def _banner(stack: LocalStack, demo_file: Path | None) -> None:
    """Tell the human where things are, then the ready line tests wait for."""
    lines = [f"formrelay API     {stack.endpoint}", f"emulated AWS      {stack.aws_endpoint}"]
    if demo_file is not None:
        lines.append(f"demo credentials  {demo_file}")
    lines.append(READY_LINE)
    print("\n".join(lines), file=sys.stderr, flush=True)


def run(
    port: int = 8787,
    demo: bool = False,
    state_dir: Path = Path(".formrelay"),
    template: Path = DEFAULT_TEMPLATE,
) -> None:
    """Run the local stack until SIGINT/SIGTERM, then stop everything cleanly."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    sink: Sink | None = None
    try:
        with LocalStack(template, port=port) as stack:
            demo_file = None
            if demo:
                sink = Sink().start()
                demo_file = write_demo(stack, sink, state_dir)
            _banner(stack, demo_file)
            while not stopping.wait(0.5):
                pass
            print("formrelay dev stopping", file=sys.stderr, flush=True)
    finally:
        if sink is not None:
            sink.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
