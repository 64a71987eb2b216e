"""Typed settings read once from the environment at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from formrelay.delivery.ssrf import allowed_from_env
from formrelay.domain.errors import FormrelayError

SECRET_CACHE_VARIABLE = "SECRET_CACHE_SECONDS"
DEFAULT_SECRET_CACHE_SECONDS = 30
MAX_SECRET_CACHE_SECONDS = 3600


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
    # How long key and destination secrets are cached (SECRET_CACHE_SECONDS): a
    # rotated-out or revoked secret may verify this long; a revoked key's state does not.
    secret_cache_seconds: int = 30
    # host:port pairs deliveries may reach although not public (DELIVERY_ALLOWED_DESTINATIONS).
    allowed_destinations: frozenset[str] = frozenset()
    # The retry workflow's state machine (DELIVERY_RETRY_STATE_MACHINE_ARN).
    retry_state_machine_arn: str = ""
    # Every retry wait is multiplied by this (FORMRELAY_TIME_SCALE): 1 in production.
    time_scale: float = 1.0

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
                env.get("DELIVERY_RETRY_SCHEDULE_SECONDS", "5,300,1800,7200,18000,36000,36000")
            ),
            allowed_destinations=_allowed(env.get("DELIVERY_ALLOWED_DESTINATIONS", "")),
            retry_state_machine_arn=env.get("DELIVERY_RETRY_STATE_MACHINE_ARN", ""),
            time_scale=_time_scale(env.get("FORMRELAY_TIME_SCALE", "1")),
            secret_cache_seconds=parse_secret_cache_seconds(
                env.get(SECRET_CACHE_VARIABLE, str(DEFAULT_SECRET_CACHE_SECONDS))
            ),
        )


def _schedule(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigurationError(f"retry schedule {text!r} is not a list of seconds") from exc
    if any(value < 1 or value > 86400 for value in values):
        raise ConfigurationError("retry delays must be between 1 and 86400 seconds")
    return values


def parse_secret_cache_seconds(text: str) -> int:
    """Whole seconds from 0 (no cache: every request reads Secrets Manager) to an hour."""
    try:
        value = int(text.strip())
    except ValueError as exc:
        raise ConfigurationError(f"{SECRET_CACHE_VARIABLE} {text!r} is not whole seconds") from exc
    if not 0 <= value <= MAX_SECRET_CACHE_SECONDS:
        raise ConfigurationError(
            f"{SECRET_CACHE_VARIABLE} must be from 0 to {MAX_SECRET_CACHE_SECONDS} seconds"
        )
    return value


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigurationError(f"FORMRELAY_TIME_SCALE {text!r} is not a number") from exc
    if not 0 < value <= 1000:
        raise ConfigurationError("FORMRELAY_TIME_SCALE must be above 0 and at most 1000")
    return value


def _allowed(text: str) -> frozenset[str]:
    try:
        return allowed_from_env(text)
    except ValueError as exc:
        raise ConfigurationError(f"DELIVERY_ALLOWED_DESTINATIONS: {exc}") from exc
