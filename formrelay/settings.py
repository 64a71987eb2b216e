"""Typed settings read once from a function's own environment, at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from formrelay.delivery.ssrf import DEFAULT_RESOLVE_TIMEOUT_SECONDS, allowed_from_env
from formrelay.domain.errors import FormrelayError

SECRET_CACHE_VARIABLE = "SECRET_CACHE_SECONDS"
DEFAULT_SECRET_CACHE_SECONDS = 30
MAX_SECRET_CACHE_SECONDS = 3600


class ConfigurationError(FormrelayError):
    """A required setting is missing or malformed."""


# Key secrets and destination secrets live under separate prefixes, so IAM can
# grant each function one of them by name: the authorizer reads key secrets only,
# the admin and delivery functions destination secrets only.
DEFAULT_TENANT_SECRET_PREFIX = "formrelay/tenants/"
DEFAULT_DESTINATION_SECRET_PREFIX = "formrelay/destinations/"


# The resources a function may name in its environment: each function's template entry
# declares only those it uses, so a setting here is None for a function that does not.
RESOURCE_VARIABLES = {
    "events_table": "EVENTS_TABLE",
    "views_table": "VIEWS_TABLE",
    "delivery_queue_url": "DELIVERY_QUEUE_URL",
    "retry_state_machine_arn": "DELIVERY_RETRY_STATE_MACHINE_ARN",
    "listing_cursor_key_secret": "LISTING_CURSOR_KEY_SECRET",
    "anchors_bucket": "ANCHORS_BUCKET",
    "event_bus_name": "EVENT_BUS_NAME",
    "status_view_failure_queue_url": "STATUS_VIEW_FAILURE_QUEUE_URL",
    "dispatcher_failure_queue_url": "DISPATCHER_FAILURE_QUEUE_URL",
    "publisher_failure_queue_url": "PUBLISHER_FAILURE_QUEUE_URL",
}
Resource = Literal[
    "events_table",
    "views_table",
    "delivery_queue_url",
    "retry_state_machine_arn",
    "listing_cursor_key_secret",
    "anchors_bucket",
    "event_bus_name",
    "status_view_failure_queue_url",
    "dispatcher_failure_queue_url",
    "publisher_failure_queue_url",
]
DEFAULT_RETRY_SCHEDULE_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 36000)


@dataclass(frozen=True)
class Settings:
    """One function's settings, read from its own environment.

    Every function gets its own environment (infra/template.yaml declares what
    each reads), so one Settings class serves them all: a resource the function
    does not declare is None, and asking for it (`require`) is a
    ConfigurationError naming the variable, when the adapter that needs it is
    built, not at import. Tuning values have defaults; a value that is given
    is checked whichever function reads it.
    """

    events_table: str | None = None
    views_table: str | None = None
    delivery_queue_url: str | None = None
    # The retry workflow's state machine (DELIVERY_RETRY_STATE_MACHINE_ARN): the connector's only.
    retry_state_machine_arn: str | None = None
    tenant_secret_prefix: str = DEFAULT_TENANT_SECRET_PREFIX
    retry_schedule_seconds: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE_SECONDS
    signature_window_seconds: int = 300
    # How long key and destination secrets are cached (SECRET_CACHE_SECONDS): a
    # rotated-out or revoked secret may verify this long; a revoked key's state does not.
    secret_cache_seconds: int = DEFAULT_SECRET_CACHE_SECONDS
    # host:port pairs deliveries may reach although not public (DELIVERY_ALLOWED_DESTINATIONS).
    allowed_destinations: frozenset[str] = frozenset()
    # How long a destination PUT waits for its host to resolve
    # (DESTINATION_RESOLVE_TIMEOUT_SECONDS).
    destination_resolve_timeout_seconds: float = DEFAULT_RESOLVE_TIMEOUT_SECONDS
    # Every retry wait is multiplied by this (FORMRELAY_TIME_SCALE): 1 in production.
    time_scale: float = 1.0
    # Where destinations' credentials are kept (DESTINATION_SECRET_PREFIX): `<prefix><tenant>`.
    destination_secret_prefix: str = DEFAULT_DESTINATION_SECRET_PREFIX
    # Requests a tenant (or a key with its own limit) may make: refill rate and bucket size,
    # unless its tenant or key item says otherwise (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST).
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100
    # How long a function trusts the limits it read from a tenant or key item
    # (RATE_LIMIT_CACHE_SECONDS).
    rate_limit_cache_seconds: int = 30
    # The secret whose value signs the listing's page cursors (LISTING_CURSOR_KEY_SECRET):
    # the query function's alone.
    listing_cursor_key_secret: str | None = None
    # The write-once bucket of anchor objects (ANCHORS_BUCKET): the audit and anchor functions'.
    anchors_bucket: str | None = None
    # The event bus domain events are published to (EVENT_BUS_NAME): the publisher's alone.
    event_bus_name: str | None = None
    # The stream mappings' failure queues (STATUS_VIEW_FAILURE_QUEUE_URL,
    # DISPATCHER_FAILURE_QUEUE_URL, PUBLISHER_FAILURE_QUEUE_URL): the reconciler's, which
    # re-drives what they hold.
    status_view_failure_queue_url: str | None = None
    dispatcher_failure_queue_url: str | None = None
    publisher_failure_queue_url: str | None = None

    def require(self, resource: Resource) -> str:
        """A resource this function needs; ConfigurationError if its environment lacks it."""
        value = getattr(self, resource)
        if not value:
            raise ConfigurationError(
                f"environment variable {RESOURCE_VARIABLES[resource]} is not set: "
                "this function's environment does not declare it"
            )
        return str(value)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from a function's environment variables (os.environ if none given)."""
        env = os.environ if env is None else env

        def resource(name: str) -> str | None:
            return env.get(name, "").strip() or None

        tenant_prefix = env.get("TENANT_SECRET_PREFIX", DEFAULT_TENANT_SECRET_PREFIX)
        destination_prefix = env.get("DESTINATION_SECRET_PREFIX", DEFAULT_DESTINATION_SECRET_PREFIX)
        _check_prefixes_apart(tenant_prefix, destination_prefix)
        return cls(
            events_table=resource("EVENTS_TABLE"),
            views_table=resource("VIEWS_TABLE"),
            delivery_queue_url=resource("DELIVERY_QUEUE_URL"),
            retry_state_machine_arn=resource("DELIVERY_RETRY_STATE_MACHINE_ARN"),
            event_bus_name=resource("EVENT_BUS_NAME"),
            tenant_secret_prefix=tenant_prefix,
            destination_secret_prefix=destination_prefix,
            retry_schedule_seconds=_schedule(
                env.get(
                    "DELIVERY_RETRY_SCHEDULE_SECONDS",
                    ",".join(map(str, DEFAULT_RETRY_SCHEDULE_SECONDS)),
                )
            ),
            allowed_destinations=_allowed(env.get("DELIVERY_ALLOWED_DESTINATIONS", "")),
            destination_resolve_timeout_seconds=_positive_number(
                "DESTINATION_RESOLVE_TIMEOUT_SECONDS",
                env.get(
                    "DESTINATION_RESOLVE_TIMEOUT_SECONDS", str(DEFAULT_RESOLVE_TIMEOUT_SECONDS)
                ),
            ),
            time_scale=_time_scale(env.get("FORMRELAY_TIME_SCALE", "1")),
            rate_limit_per_second=_positive_number(
                "RATE_LIMIT_PER_SECOND", env.get("RATE_LIMIT_PER_SECOND", "50")
            ),
            rate_limit_burst=_whole_number(
                "RATE_LIMIT_BURST", env.get("RATE_LIMIT_BURST", "100"), minimum=1
            ),
            rate_limit_cache_seconds=_whole_number(
                "RATE_LIMIT_CACHE_SECONDS", env.get("RATE_LIMIT_CACHE_SECONDS", "30"), minimum=0
            ),
            secret_cache_seconds=parse_secret_cache_seconds(
                env.get(SECRET_CACHE_VARIABLE, str(DEFAULT_SECRET_CACHE_SECONDS))
            ),
            listing_cursor_key_secret=resource("LISTING_CURSOR_KEY_SECRET"),
            anchors_bucket=resource("ANCHORS_BUCKET"),
            status_view_failure_queue_url=resource("STATUS_VIEW_FAILURE_QUEUE_URL"),
            dispatcher_failure_queue_url=resource("DISPATCHER_FAILURE_QUEUE_URL"),
            publisher_failure_queue_url=resource("PUBLISHER_FAILURE_QUEUE_URL"),
        )


def _check_prefixes_apart(tenant_prefix: str, destination_prefix: str) -> None:
    """Neither secret prefix may lie inside the other: a grant on one would cover both."""
    if not tenant_prefix or not destination_prefix:
        raise ConfigurationError("secret prefixes must not be empty")
    if tenant_prefix.startswith(destination_prefix) or destination_prefix.startswith(tenant_prefix):
        raise ConfigurationError(
            f"TENANT_SECRET_PREFIX {tenant_prefix!r} and DESTINATION_SECRET_PREFIX "
            f"{destination_prefix!r} overlap"
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


def _positive_number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigurationError(f"{name} {text!r} is not a number") from exc
    if not 0 < value < float("inf"):
        raise ConfigurationError(f"{name} must be above 0")
    return value


def _whole_number(name: str, text: str, *, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise ConfigurationError(f"{name} {text!r} is not a whole number") from exc
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def _allowed(text: str) -> frozenset[str]:
    try:
        return allowed_from_env(text)
    except ValueError as exc:
        raise ConfigurationError(f"DELIVERY_ALLOWED_DESTINATIONS: {exc}") from exc
