"""The emulated AWS: moto's ThreadedMotoServer on a free local port."""

from __future__ import annotations

import json
import logging
import os
import urllib.request

from moto.dynamodbstreams.models import dynamodbstreams_backends
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account

logger = logging.getLogger(__name__)


def aws_environment(endpoint: str) -> dict[str, str]:
    """Environment variables that point boto3 at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def forget_shard_iterator(iterator: str) -> None:
    """Drop a used shard iterator from moto's in-process backend.

    moto keeps every iterator it ever issued (about 1 KB each) and a poller asks
    for several a second, so a long `formrelay dev` session would grow without
    bound. Real DynamoDB expires iterators after 15 minutes; this is our stand-in.
    """
    backend = dynamodbstreams_backends[ACCOUNT_ID][REGION]
    backend.shard_iterators.pop(iterator, None)


class Emulator:
    """A moto server in a background thread, plus the env that points boto3 at it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: ThreadedMotoServer | None = None
        self.endpoint = ""

    def start(self) -> str:
        """Start moto, export the AWS env vars and return the endpoint URL."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        os.environ.update(aws_environment(self.endpoint))
        os.environ["MOTO_PORT"] = str(port)
        self.configure({"stepfunctions": {"execute_state_machine": True}})
        return self.endpoint

    def configure(self, config: dict[str, object]) -> None:
        """POST a moto config document (e.g. enable the Step Functions interpreter)."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/config",
            data=json.dumps(config).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        """Stop the moto server thread."""
        if self._server is not None:
            self._server.stop()
            self._server = None
