"""The local stack as a user runs it: `formrelay dev --demo` in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from formrelay.client import Credentials, FormrelayClient

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningStack:
    """What a test needs to drive and inspect a running local stack."""

    def __init__(self, demo: dict[str, Any], log_path: Path) -> None:
        self.demo = demo
        self.log_path = log_path
        self.endpoint: str = demo["endpoint"]
        self.sink_url: str = demo["sink_url"]
        self.signing_secrets: dict[str, str] = {}  # destinations a test added: path -> secret
        self.aws = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def client(self, key_id: str | None = None, secret: str | None = None) -> FormrelayClient:
        """A signed API client for the demo key (or another)."""
        return FormrelayClient(
            Credentials(self.endpoint, key_id or self.demo["key_id"], secret or self.demo["secret"])
        )

    def dynamodb(self) -> Any:
        """A DynamoDB client on the emulated AWS."""
        return self.aws.client("dynamodb", endpoint_url=self.demo["aws_endpoint"])

    def table(self, logical_id: str) -> str:
        """The physical name of a table the template declares."""
        names = self.dynamodb().list_tables()["TableNames"]
        return next(name for name in names if logical_id in name)

    def queue_depths(self, logical_ids: Sequence[str]) -> dict[str, int]:
        """Messages on each of these queues (template logical ids), visible or in flight."""
        sqs = self.aws.client("sqs", endpoint_url=self.demo["aws_endpoint"])
        urls = sqs.list_queues()["QueueUrls"]
        depths = {}
        for logical_id in logical_ids:
            url = next(u for u in urls if logical_id in u)
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            depths[logical_id] = sum(int(v) for v in attributes.values())
        return depths

    def received_submissions(self) -> int:
        """How many submission.received events the event table holds."""
        answer = self.dynamodb().scan(
            TableName=self.table("EventsTable"),
            FilterExpression="#t = :t",
            ExpressionAttributeNames={"#t": "type"},
            ExpressionAttributeValues={":t": {"S": "submission.received"}},
            Select="COUNT",
        )
        return int(answer["Count"])

    def sink_received(self) -> list[dict[str, Any]]:
        """What the demo webhook receiver has been sent."""
        return list(httpx.get(self.sink_url.rstrip("/") + "/received", timeout=10).json())

    def wait_for(
        self,
        predicate: Any,
        timeout: float = 30.0,
        what: str = "condition",
        describe: Any = None,
    ) -> Any:
        """Poll predicate until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        seen = f"; last seen: {describe()}" if describe else ""
        raise AssertionError(f"timed out waiting for {what}; stack log: {self.log_path}{seen}")

    def services(self) -> Any:
        """formrelay's services bound to the stack's emulated AWS, as an operator's tools are."""
        from formrelay.composition import Services
        from formrelay.settings import Settings

        endpoint = self.demo["aws_endpoint"]
        sqs = self.aws.client("sqs", endpoint_url=endpoint)
        settings = Settings(
            events_table=self.table("EventsTable"),
            views_table=self.table("ViewsTable"),
            delivery_queue_url=next(
                url for url in sqs.list_queues()["QueueUrls"] if "DeliveryQueue" in url
            ),
            tenant_secret_prefix="formrelay/tenants/",
            retry_schedule_seconds=(1,),
        )
        return Services(
            settings,
            dynamodb=self.dynamodb(),
            sqs=sqs,
            secretsmanager=self.aws.client("secretsmanager", endpoint_url=endpoint),
        )

    def seed_second_tenant(self, tenant_id: str = "acme") -> dict[str, str]:
        """A second tenant on the same stack, seeded the way an operator would."""
        from formrelay.bootstrap import seed_tenant

        seeded = seed_tenant(
            self.services(),
            tenant_id=tenant_id,
            form_id="contact",
            schema={
                "type": "object",
                "required": ["topic"],
                "properties": {"topic": {"type": "string"}},
            },
            destination_url=self.sink_url.rstrip("/") + f"/hooks/{tenant_id}",
        )
        return seeded.as_dict()


@contextlib.contextmanager
def running_stack(state_dir: Path, *extra_args: str) -> Iterator[RunningStack]:
    """Run `formrelay dev --demo` (plus extra_args) as a subprocess until the block ends."""
    log_path = state_dir / "dev.log"
    formrelay = Path(sys.executable).parent / "formrelay"
    command = [str(formrelay), "dev", "--demo", "--port", str(_free_port())]
    command += ["--state-dir", str(state_dir), *extra_args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_ENDPOINT_URL", "FORMRELAY_ENDPOINT", "FORMRELAY_KEY_ID", "FORMRELAY_SECRET"):
        env.pop(name, None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    demo_file = state_dir / "demo.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not (demo_file.exists() and b"formrelay dev ready" in log_path.read_bytes()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"formrelay dev did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    try:
        yield RunningStack(json.loads(demo_file.read_text()), log_path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The demo stack, started once for the e2e session."""
    with running_stack(tmp_path_factory.mktemp("formrelay-state")) as running:
        yield running
