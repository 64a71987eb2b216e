"""A destination PUT without a retry schedule gets the deployment's default
(DELIVERY_RETRY_SCHEDULE_SECONDS), not a constant of the code."""

from __future__ import annotations

import json
import socket
from typing import Any

from formrelay.composition import Services
from formrelay.registry.registration import register
from formrelay.settings import Settings
from tests.support.template_aws import template_aws


def _public(*_: Any, **__: Any) -> list[tuple[Any, ...]]:
    """Every host resolves to a public address (no DNS in tests)."""
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]


def test_a_destination_without_a_schedule_gets_the_deployments_default() -> None:
    with template_aws() as aws:
        settings = Settings.from_env(
            {
                "EVENTS_TABLE": aws.events_table,
                "VIEWS_TABLE": aws.views_table,
                "DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "DELIVERY_RETRY_SCHEDULE_SECONDS": "7,70",
            }
        )
        services = Services(settings, dynamodb=aws.dynamodb, secretsmanager=aws.secretsmanager)
        register(services.forms, "acme", "contact", {"type": "object"})
        admin = services.destination_admin
        admin.resolve = _public

        default = json.dumps({"url": "https://hooks.example.com/a"}).encode()
        own = json.dumps({"url": "https://hooks.example.com/b", "retry_schedule_seconds": [1]})
        admin.put("acme", "contact", "default", default)
        admin.put("acme", "contact", "own", own.encode())

        assert admin.get("acme", "contact", "default")["retry_schedule_seconds"] == [7, 70]
        assert admin.get("acme", "contact", "own")["retry_schedule_seconds"] == [1]
