"""Typed settings read once from the environment at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from formrelay.domain.errors import FormrelayError


class ConfigurationError(FormrelayError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """What every function needs to find its tables, queue and secrets."""

    events_table: str
    views_table: str
    delivery_queue_url: str
    tenant_secret_prefix: str
    retry_schedule_seconds: tuple[int, ...]
    signature_window_seconds: int = 300
    secret_cache_seconds: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables (those the template declares)."""
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set")
            return value

        return cls(
            events_table=required("EVENTS_TABLE"),
            views_table=required("VIEWS_TABLE"),
            delivery_queue_url=required("DELIVERY_QUEUE_URL"),
            tenant_secret_prefix=env.get("TENANT_SECRET_PREFIX", "formrelay/tenants/"),
            retry_schedule_seconds=_schedule(
                env.get("DELIVERY_RETRY_SCHEDULE_SECONDS", "5,30,120")
            ),
        )


def _schedule(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigurationError(f"retry schedule {text!r} is not a list of seconds") from exc
    if any(value < 0 or value > 900 for value in values):
        # The first-attempt path retries through SQS delays, which stop at 15 minutes.
        raise ConfigurationError("retry delays must be between 0 and 900 seconds")
    return values
